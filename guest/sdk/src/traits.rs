//! What a datastore author implements. Each trait mirrors one WIT resource
//! (or the `datastore` export); optional calls have defaults that answer
//! `unsupported` / "none", matching what the provider features and sync
//! capabilities advertise.

use crate::error::{Error, Result};
use crate::lock_info::LockInfo;
use swamp_datastore_types::{
    CatalogExport, ContaminationSummary, HealthResult, LockOptions, ProviderFeatures, PushManifest,
    PushPreview, SharedFeatures, SyncCapabilities, SyncOptions,
};

/// The datastore type itself: identity, config schema and provider factory.
/// Export it with [`crate::export_datastore!`].
pub trait Datastore: 'static {
    /// `@collective/name` (`swamp` and `si` are reserved).
    fn datastore_type() -> String;
    /// Human-readable name, non-empty.
    fn name() -> String;
    /// Short description, non-empty.
    fn description() -> String;
    /// JSON Schema (draft 2020-12) text of the config.
    fn config_schema() -> String;
    /// Validate `config` again (report every problem) and build a provider.
    /// Must do no file or network I/O.
    fn create_provider(config: serde_json::Value) -> Result<Box<dyn Provider>>;
}

/// A datastore built from one validated config.
pub trait Provider: 'static {
    /// Which optional calls work. Keep it consistent with the defaults
    /// below; the default, none of them, is what those defaults do.
    fn features(&self) -> ProviderFeatures {
        ProviderFeatures::default()
    }
    /// A lock on `datastore_path` (no I/O until acquire).
    fn create_lock(&self, datastore_path: &str, options: LockOptions) -> Result<Box<dyn Lock>>;
    /// A health probe.
    fn create_verifier(&self) -> Result<Box<dyn Verifier>>;
    /// Where data lives for `repo_dir`: a non-empty absolute path.
    fn resolve_datastore_path(&self, repo_dir: &str) -> Result<String>;
    /// A sync service, or `None` when the datastore is locally accessible.
    fn create_sync_service(
        &self,
        _repo_dir: &str,
        _cache_path: &str,
    ) -> Result<Option<Box<dyn SyncService>>> {
        Ok(None)
    }
    /// The cache location, or `None` for the host's default.
    fn resolve_cache_path(&self, _repo_dir: &str) -> Result<Option<String>> {
        Ok(None)
    }
    /// Claim `namespace` for `repo_id`.
    fn register_namespace(
        &self,
        _datastore_path: &str,
        _namespace: &str,
        _repo_id: &str,
    ) -> Result<()> {
        Err(Error::unsupported("register-namespace"))
    }
    /// The registered namespaces.
    fn list_namespaces(&self, _datastore_path: &str) -> Result<Vec<String>> {
        Err(Error::unsupported("list-namespaces"))
    }
}

/// One lock key; reusable (acquire after release works).
pub trait Lock: 'static {
    /// Take the lock or fail with `lock-timeout`; `conflict` if already held.
    fn acquire(&mut self) -> Result<()>;
    /// Give it up if still ours; idempotent.
    fn release(&mut self) -> Result<()>;
    /// The stored lock, `None` when free; no side effects.
    fn inspect(&self) -> Result<Option<LockInfo>>;
    /// Delete the stored lock only if its nonce is `expected_nonce`.
    fn force_release(&mut self, expected_nonce: &str) -> Result<bool>;
    /// Extend the lease; `lock-lost` once the lock is not ours.
    fn heartbeat(&mut self) -> Result<()>;
    /// The resolved key.
    fn lock_key(&self) -> String;
    /// The TTL this handle writes.
    fn ttl_ms(&self) -> u64;
}

/// A health probe.
pub trait Verifier: 'static {
    /// Run it. Unhealthy is `Ok` with `healthy: false`.
    fn verify(&self) -> Result<HealthResult>;
}

/// A cache bound to a remote store. See `wit/sync.wit` for the contract.
pub trait SyncService: 'static {
    /// Download what changed remotely; number of files downloaded.
    fn pull_changed(&mut self, options: &SyncOptions) -> Result<u32>;
    /// Upload what changed locally; uploaded + remote deletions.
    fn push_changed(&mut self, options: &SyncOptions) -> Result<u32>;
    /// Record a coming change (the eight rules).
    fn mark_dirty(&mut self, options: &SyncOptions) -> Result<()>;
    /// Optional features; all off by default.
    fn capabilities(&self) -> SyncCapabilities {
        SyncCapabilities::default()
    }
    /// Download one file on demand (needs `lazy_hydration`).
    fn hydrate_file(&mut self, _rel_path: &str, _options: &SyncOptions) -> Result<bool> {
        Err(Error::unsupported("hydrate-file"))
    }
    /// Two-phase push, phase 1 (needs `two_phase_sync`).
    fn prepare_push(&mut self, _options: &SyncOptions) -> Result<PushManifest> {
        Err(Error::unsupported("prepare-push"))
    }
    /// Two-phase push, phase 2 (needs `two_phase_sync`).
    fn commit_push(&mut self, _manifest: PushManifest, _options: &SyncOptions) -> Result<u32> {
        Err(Error::unsupported("commit-push"))
    }
    /// Dry run of push (needs `preview_push`).
    fn preview_push(&mut self, _options: &SyncOptions) -> Result<PushPreview> {
        Err(Error::unsupported("preview-push"))
    }
    /// The shared-store calls of this service, when it has them
    /// (`wit/shared-store.wit`); `None` advertises none of them.
    fn shared_store(&mut self) -> Option<&mut dyn SharedStore> {
        None
    }
}

/// What several swamp processes share through the remote store beside the
/// synced tree. See `wit/shared-store.wit` for the contract; a call whose
/// feature is off answers `unsupported` by default.
pub trait SharedStore {
    /// Which of the calls below work.
    fn features(&self) -> SharedFeatures;
    /// Create or replace control record `key` of `namespace` (`None`: root).
    fn control_put(&mut self, _namespace: Option<&str>, _key: &str, _data: &[u8]) -> Result<()> {
        Err(Error::unsupported("control-put"))
    }
    /// The record's bytes, `None` when absent.
    fn control_get(&mut self, _namespace: Option<&str>, _key: &str) -> Result<Option<Vec<u8>>> {
        Err(Error::unsupported("control-get"))
    }
    /// Delete the record (absent is fine).
    fn control_delete(&mut self, _namespace: Option<&str>, _key: &str) -> Result<()> {
        Err(Error::unsupported("control-delete"))
    }
    /// Sorted keys starting with `prefix`, relative to the control prefix.
    fn control_list(&mut self, _namespace: Option<&str>, _prefix: &str) -> Result<Vec<String>> {
        Err(Error::unsupported("control-list"))
    }
    /// Create the record only if absent; true when this call created it.
    fn control_put_if_absent(
        &mut self,
        _namespace: Option<&str>,
        _key: &str,
        _data: &[u8],
    ) -> Result<bool> {
        Err(Error::unsupported("control-put-if-absent"))
    }
    /// Store `rows_json` as the namespace's catalog export unless it is
    /// already stored; true when written.
    fn export_catalog(&mut self, _namespace: &str, _rows_json: &str) -> Result<bool> {
        Err(Error::unsupported("export-catalog"))
    }
    /// The exports of `namespaces` that exist and are JSON arrays.
    fn pull_foreign_catalogs(&mut self, _namespaces: &[String]) -> Result<Vec<CatalogExport>> {
        Err(Error::unsupported("pull-foreign-catalogs"))
    }
    /// `{namespace}/{rel_path}` from the remote, `None` when absent.
    fn fetch_foreign_content(
        &mut self,
        _namespace: &str,
        _rel_path: &str,
    ) -> Result<Option<Vec<u8>>> {
        Err(Error::unsupported("fetch-foreign-content"))
    }
    /// Find (and unless `dry_run`, delete) other namespaces' objects inside
    /// `namespace`, then rebuild its index.
    fn repair_namespace_contamination(
        &mut self,
        _namespace: Option<&str>,
        _dry_run: bool,
    ) -> Result<ContaminationSummary> {
        Err(Error::unsupported("repair-namespace-contamination"))
    }
}
