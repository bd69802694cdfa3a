//! A guest object held by a host handle, dropped in the guest when the last
//! clone of the handle goes.
//!
//! Verifiers live in their provider's instance, which outlives them, so
//! without the drop every verifier ever made would stay in the guest's
//! memory for the provider's lifetime (`swamp-host/tests/all/fs/datastore.rs`
//! makes 10,000 and checks the memory stays flat). Locks and sync services
//! have instances of their own, which go whole with their handle, but they
//! hold their guest object the same way so that no handle depends on which
//! instance it shares.
//!
//! A `Drop` impl cannot wait for the store (a call may hold it, and the
//! drop runs guest code, which is async and may trap), so it only queues
//! the resource on its instance; the instance drops it in the guest at the
//! start of its next call, under that call's deadlines
//! ([`Instance::drop_later`]). A destructor that traps stops the instance
//! like any call and is reported as such; the host never panics on it.

use crate::instance::Instance;
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// A guest resource and the instance it lives in. Clones share the one
/// guest object.
#[derive(Clone)]
pub(crate) struct GuestResource(Arc<Owned>);

struct Owned {
    instance: Arc<Instance>,
    resource: ResourceAny,
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.instance.drop_later(self.resource);
    }
}

impl GuestResource {
    pub(crate) fn new(instance: Arc<Instance>, resource: ResourceAny) -> Self {
        Self(Arc::new(Owned { instance, resource }))
    }

    /// The instance the object lives in (every call on it goes there).
    pub(crate) fn instance(&self) -> &Arc<Instance> {
        &self.0.instance
    }

    /// The guest handle, to pass to a call; valid while `self` lives.
    pub(crate) fn get(&self) -> ResourceAny {
        self.0.resource
    }
}
