//! The verifier handle.

use crate::error::HostResult;
use crate::guest_resource::GuestResource;
use crate::instance::Instance;
use crate::types::HealthResult;
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// A health probe of one datastore. Clones share one guest verifier, which
/// is dropped in the guest when the last clone goes (see
/// `swamp-host/src/guest_resource.rs`).
#[derive(Clone)]
pub struct Verifier {
    guest: GuestResource,
}

impl Verifier {
    pub(crate) fn new(instance: Arc<Instance>, resource: ResourceAny) -> Self {
        Self {
            guest: GuestResource::new(instance, resource),
        }
    }

    /// Probe the datastore. An unhealthy datastore is an `Ok` result with
    /// `healthy: false` and the reason in `message`; an error means the
    /// probe itself could not run.
    pub async fn verify(&self) -> HostResult<HealthResult> {
        let r = self.guest.get();
        self.guest
            .instance()
            .call("verifier.verify", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_verifier()
                        .datastore_verifier()
                        .call_verify(s, r)
                        .await
                })
            })
            .await
            .map(Into::into)
    }
}
