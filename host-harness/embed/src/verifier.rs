//! The verifier handle.

use crate::error::HostResult;
use crate::instance::Instance;
use crate::types::HealthResult;
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// A health probe of one datastore. Clones share one guest verifier.
#[derive(Clone)]
pub struct Verifier {
    held: Arc<Held>,
}

/// The guest verifier, dropped in the guest when the last clone goes: it
/// lives in its provider's instance, which outlives it, so without the drop
/// every verifier ever made would stay in the guest's memory.
struct Held {
    instance: Arc<Instance>,
    resource: ResourceAny,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.instance.drop_later(self.resource);
    }
}

impl Verifier {
    pub(crate) fn new(instance: Arc<Instance>, resource: ResourceAny) -> Self {
        Self {
            held: Arc::new(Held { instance, resource }),
        }
    }

    pub async fn verify(&self) -> HostResult<HealthResult> {
        let r = self.held.resource;
        self.held
            .instance
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
