//! The verifier handle.

use crate::error::HostResult;
use crate::instance::Instance;
use crate::types::HealthResult;
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// A health probe of one datastore.
#[derive(Clone)]
pub struct Verifier {
    instance: Arc<Instance>,
    resource: ResourceAny,
}

impl Verifier {
    pub(crate) fn new(instance: Arc<Instance>, resource: ResourceAny) -> Self {
        Self { instance, resource }
    }

    pub async fn verify(&self) -> HostResult<HealthResult> {
        let r = self.resource;
        self.instance
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
