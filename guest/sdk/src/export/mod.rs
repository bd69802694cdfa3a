//! The bridge from an author's trait objects to the generated `Guest`
//! traits. [`Export<D>`] is what [`crate::export_datastore!`] hands to
//! wit-bindgen's export macro; the resource wrappers own the boxed trait
//! objects for as long as the host holds the handle.

mod convert;
mod shared;

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::bindings::exports::swamp::datastore::{
    datastore as wd, lock as wl, provider as wp, sync as ws, verifier as wv,
};
use crate::bindings::swamp::datastore::types as wt;
use crate::error::Error;
use crate::traits::{Datastore, Lock, Provider, SyncService, Verifier};

type WitResult<T> = Result<T, wt::Error>;

/// The exported component for datastore `D`. Not used directly: write
/// `swamp_datastore_sdk::export_datastore!(D);`.
pub struct Export<D>(PhantomData<D>);

/// Run `f` on the mutable state of a resource. The component model never
/// re-enters an instance, so the borrow cannot clash; should it ever, the
/// host gets `internal` instead of a trap.
fn with_mut<T: ?Sized, R>(
    cell: &RefCell<Box<T>>,
    f: impl FnOnce(&mut T) -> crate::Result<R>,
) -> WitResult<R> {
    let mut guard = cell
        .try_borrow_mut()
        .map_err(|_| wt::Error::Internal("re-entrant call on a guest resource".into()))?;
    f(guard.as_mut()).map_err(Into::into)
}

impl<D: Datastore> wd::Guest for Export<D> {
    fn datastore_type() -> String {
        D::datastore_type()
    }
    fn name() -> String {
        D::name()
    }
    fn description() -> String {
        D::description()
    }
    fn config_schema() -> String {
        D::config_schema()
    }
    fn create_provider(config_json: String) -> WitResult<wp::DatastoreProvider> {
        let config: serde_json::Value = serde_json::from_str(&config_json).map_err(|e| {
            wt::Error::from(Error::invalid_config(
                "",
                format!("the config is not valid JSON: {e}"),
            ))
        })?;
        let p = D::create_provider(config)?;
        Ok(wp::DatastoreProvider::new(ProviderResource(p)))
    }
}

impl<D: Datastore> wp::Guest for Export<D> {
    type DatastoreProvider = ProviderResource;
}
impl<D: Datastore> wl::Guest for Export<D> {
    type DistributedLock = LockResource;
}
impl<D: Datastore> wv::Guest for Export<D> {
    type DatastoreVerifier = VerifierResource;
}
impl<D: Datastore> ws::Guest for Export<D> {
    type SyncService = SyncResource;
}

/// A `datastore-provider` resource.
#[doc(hidden)]
pub struct ProviderResource(Box<dyn Provider>);

impl wp::GuestDatastoreProvider for ProviderResource {
    fn features(&self) -> wp::ProviderFeatures {
        self.0.features().into()
    }
    fn create_lock(
        &self,
        datastore_path: String,
        options: wl::LockOptions,
    ) -> WitResult<wl::DistributedLock> {
        let l = self.0.create_lock(&datastore_path, options.into())?;
        Ok(wl::DistributedLock::new(LockResource(RefCell::new(l))))
    }
    fn create_verifier(&self) -> WitResult<wv::DatastoreVerifier> {
        let v = self.0.create_verifier()?;
        Ok(wv::DatastoreVerifier::new(VerifierResource(v)))
    }
    fn resolve_datastore_path(&self, repo_dir: String) -> WitResult<String> {
        Ok(self.0.resolve_datastore_path(&repo_dir)?)
    }
    fn create_sync_service(
        &self,
        repo_dir: String,
        cache_path: String,
    ) -> WitResult<Option<ws::SyncService>> {
        let s = self.0.create_sync_service(&repo_dir, &cache_path)?;
        Ok(s.map(|s| ws::SyncService::new(SyncResource(RefCell::new(s)))))
    }
    fn resolve_cache_path(&self, repo_dir: String) -> WitResult<Option<String>> {
        Ok(self.0.resolve_cache_path(&repo_dir)?)
    }
    fn register_namespace(
        &self,
        datastore_path: String,
        namespace: String,
        repo_id: String,
    ) -> WitResult<()> {
        Ok(self
            .0
            .register_namespace(&datastore_path, &namespace, &repo_id)?)
    }
    fn list_namespaces(&self, datastore_path: String) -> WitResult<Vec<String>> {
        Ok(self.0.list_namespaces(&datastore_path)?)
    }
}

/// A `distributed-lock` resource.
#[doc(hidden)]
pub struct LockResource(RefCell<Box<dyn Lock>>);

impl wl::GuestDistributedLock for LockResource {
    fn acquire(&self) -> WitResult<()> {
        with_mut(&self.0, |l| l.acquire())
    }
    fn release(&self) -> WitResult<()> {
        with_mut(&self.0, |l| l.release())
    }
    fn inspect(&self) -> WitResult<Option<wt::LockInfo>> {
        with_mut(&self.0, |l| l.inspect()).map(|o| o.map(Into::into))
    }
    fn force_release(&self, expected_nonce: String) -> WitResult<bool> {
        with_mut(&self.0, |l| l.force_release(&expected_nonce))
    }
    fn heartbeat(&self) -> WitResult<()> {
        with_mut(&self.0, |l| l.heartbeat())
    }
    fn lock_key(&self) -> String {
        with_mut(&self.0, |l| Ok(l.lock_key())).unwrap_or_default()
    }
    fn ttl_ms(&self) -> u64 {
        with_mut(&self.0, |l| Ok(l.ttl_ms())).unwrap_or_default()
    }
}

/// A `datastore-verifier` resource.
#[doc(hidden)]
pub struct VerifierResource(Box<dyn Verifier>);

impl wv::GuestDatastoreVerifier for VerifierResource {
    fn verify(&self) -> WitResult<wv::HealthResult> {
        Ok(self.0.verify()?.into())
    }
}

/// A `sync-service` resource.
#[doc(hidden)]
pub struct SyncResource(pub(crate) RefCell<Box<dyn SyncService>>);

impl ws::GuestSyncService for SyncResource {
    fn pull_changed(&self, options: ws::SyncOptions) -> WitResult<u32> {
        with_mut(&self.0, |s| s.pull_changed(&options.into()))
    }
    fn push_changed(&self, options: ws::SyncOptions) -> WitResult<u32> {
        with_mut(&self.0, |s| s.push_changed(&options.into()))
    }
    fn mark_dirty(&self, options: ws::SyncOptions) -> WitResult<()> {
        with_mut(&self.0, |s| s.mark_dirty(&options.into()))
    }
    fn capabilities(&self) -> ws::SyncCapabilities {
        with_mut(&self.0, |s| Ok(s.capabilities()))
            .unwrap_or_default()
            .into()
    }
    fn hydrate_file(&self, rel_path: String, options: ws::SyncOptions) -> WitResult<bool> {
        with_mut(&self.0, |s| s.hydrate_file(&rel_path, &options.into()))
    }
    fn prepare_push(&self, options: ws::SyncOptions) -> WitResult<ws::PushManifest> {
        with_mut(&self.0, |s| s.prepare_push(&options.into())).map(Into::into)
    }
    fn commit_push(&self, manifest: ws::PushManifest, options: ws::SyncOptions) -> WitResult<u32> {
        with_mut(&self.0, |s| s.commit_push(manifest.into(), &options.into()))
    }
    fn preview_push(&self, options: ws::SyncOptions) -> WitResult<ws::PushPreview> {
        with_mut(&self.0, |s| s.preview_push(&options.into())).map(Into::into)
    }
}
