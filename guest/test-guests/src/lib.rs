//! Test-only guests, one component per bin of this package, built for
//! wasm32-wasip2 by `guest/test-guests/artifacts` (which names each one to
//! the tests):
//!
//! - `src/bin/broken_<name>.rs`: `fs-datastore` wrong in exactly one way,
//!   proving a conformance check can fail (`conformance/tests/broken_guests.rs`
//!   says which); the doc comment at the top of each file says how it is
//!   broken;
//! - `src/bin/hostile.rs`: a raw-bindings guest that tries to escape its
//!   sandbox (`swamp-host/tests/all/sandbox.rs`).
//!
//! This library is what the broken guests share: `fs-datastore` behind
//! hooks, so that each overrides exactly one behaviour and delegates the
//! rest. A broken guest implements [`Break`] for a unit struct, overriding
//! one hook (every hook defaults to fs-datastore's behaviour), and exports
//! it with [`export_broken!`]. The wrappers below call the hooks; the hooks
//! reach fs-datastore through the SDK's trait objects.

use std::cell::Cell;
use std::marker::PhantomData;
use std::path::PathBuf;
use swamp_datastore_sdk::LockInfoExt;

pub use fs_datastore_core;
pub use swamp_datastore_sdk as sdk;

use fs_datastore_core::FsDatastore;
use fs_datastore_core::config::FsConfig;
use fs_datastore_core::provider::FsProvider;
use sdk::serde_json::Value;
use sdk::{
    CatalogExport, ContaminationSummary, Datastore, HealthResult, HolderIdentity, Lock, LockInfo,
    LockOptions, Provider, ProviderFeatures, PushManifest, PushPreview, Result, SharedFeatures,
    SharedStore, SyncCapabilities, SyncOptions, SyncService, Verifier,
};

/// Export `$b` (a type implementing [`Break`]) as the component.
///
/// Also writes the bin's `main`: a wasm32-wasip2 bin is a component that
/// exports its world beside `wasi:cli/run`; the host only ever calls the
/// datastore exports, so `main` is empty and never runs.
#[macro_export]
macro_rules! export_broken {
    ($b:ty) => {
        $crate::sdk::export_datastore!($crate::Broken<$b>);
        fn main() {}
    };
}

/// A provider and what it was built from.
pub struct ProviderCx {
    pub inner: FsProvider,
    pub config: FsConfig,
}

/// One lock handle: fs-datastore's lock plus what a hook may need.
pub struct LockCx {
    pub inner: Box<dyn Lock>,
    /// The lock file.
    pub path: PathBuf,
    pub options: LockOptions,
    pub who: HolderIdentity,
    /// The stored lock right after this handle's last successful acquire;
    /// cleared by release.
    pub held: Option<LockInfo>,
    /// Free for a hook's own state.
    pub memo: Option<String>,
}

impl LockCx {
    /// The stored lock file, parsed (`None` when absent or unreadable).
    pub fn stored(&self) -> Option<LockInfo> {
        let bytes = sdk::atomic_file::read_optional(&self.path).ok()??;
        LockInfo::parse(&bytes, "lock").ok()
    }
    /// Replace the lock file with `info`.
    pub fn write(&self, info: &LockInfo) -> Result<()> {
        sdk::atomic_file::write_atomic(&self.path, info.to_json().as_bytes())
    }
    /// Delete the lock file, whoever holds it.
    pub fn delete(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One sync service: fs-datastore's engine plus what a hook may need.
pub struct SyncCx {
    pub inner: Box<dyn SyncService>,
    pub cache: PathBuf,
    /// The shared directory (the remote).
    pub share: PathBuf,
    /// Free for a hook's own state.
    pub paths: Vec<String>,
    pub flag: bool,
    pub calls: Cell<u32>,
}

/// Where a guest that holds marks back keeps them: a file at the cache
/// root whose name the engine never syncs.
const HELD_MARKS: &str = ".push-queue.json";

impl SyncCx {
    /// Per-path marks this guest held back instead of handing them to
    /// fs-datastore (persisted, so they survive a restart).
    pub fn held_marks(&self) -> Vec<String> {
        std::fs::read(self.cache.join(HELD_MARKS))
            .ok()
            .and_then(|b| sdk::serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
    /// Replace the held-back marks.
    pub fn hold_marks(&self, paths: &[String]) -> Result<()> {
        std::fs::write(
            self.cache.join(HELD_MARKS),
            sdk::serde_json::to_vec(paths).unwrap_or_default(),
        )
        .map_err(|e| sdk::Error::Internal(format!("writing the held-back marks: {e}")))
    }
    /// Hold `rel` back (once).
    pub fn hold_mark(&self, rel: &str) -> Result<()> {
        let mut paths = self.held_marks();
        if !paths.iter().any(|p| p == rel) {
            paths.push(rel.to_string());
        }
        self.hold_marks(&paths)
    }
    /// Hand fs-datastore a mark of `rel`.
    pub fn forward_mark(&mut self, rel: String) -> Result<()> {
        self.inner.mark_dirty(&SyncOptions {
            rel_path: Some(rel),
            ..SyncOptions::default()
        })
    }
    /// fs-datastore's shared store (its sync engine has one).
    pub fn store(&mut self) -> Result<&mut dyn SharedStore> {
        self.inner
            .shared_store()
            .ok_or_else(|| sdk::Error::unsupported("shared-store"))
    }
    /// The file of control record `key` in the share, joined without any
    /// check (what a careless guest would do).
    pub fn control_file(&self, ns: Option<&str>, key: &str) -> PathBuf {
        let dir = match ns {
            Some(n) => self.share.join(n).join("_control"),
            None => self.share.join("_control"),
        };
        dir.join(key)
    }
    /// Every synced file of the cache: rel-path and bytes.
    pub fn cache_files(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else if let Ok(rel) = p.strip_prefix(root) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if !sdk::sync::rules::is_internal(&rel)
                        && !sdk::atomic_file::is_temp_name(&rel)
                        && let Ok(b) = std::fs::read(&p)
                    {
                        out.push((rel, b));
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.cache, &self.cache, &mut out);
        out
    }
}

/// One overridable hook per behaviour; each defaults to fs-datastore's.
pub trait Break: 'static {
    // The datastore.
    fn datastore_type() -> String {
        fs_datastore_core::DATASTORE_TYPE.into()
    }
    fn name() -> String {
        FsDatastore::name()
    }
    fn description() -> String {
        FsDatastore::description()
    }
    fn config_schema() -> String {
        FsDatastore::config_schema()
    }
    fn parse_config(config: &Value) -> Result<FsConfig> {
        FsConfig::parse(config)
    }

    // The provider.
    fn features(p: &ProviderCx) -> ProviderFeatures {
        p.inner.features()
    }
    fn resolve_datastore_path(p: &ProviderCx, repo_dir: &str) -> Result<String> {
        p.inner.resolve_datastore_path(repo_dir)
    }
    fn create_lock(
        p: &ProviderCx,
        datastore_path: &str,
        options: LockOptions,
    ) -> Result<Box<dyn Lock>> {
        p.inner.create_lock(datastore_path, options)
    }
    fn create_verifier(p: &ProviderCx) -> Result<Box<dyn Verifier>> {
        p.inner.create_verifier()
    }
    fn register_namespace(
        p: &ProviderCx,
        datastore_path: &str,
        namespace: &str,
        repo_id: &str,
    ) -> Result<()> {
        p.inner
            .register_namespace(datastore_path, namespace, repo_id)
    }
    fn create_sync_service(
        p: &ProviderCx,
        repo_dir: &str,
        cache: &str,
    ) -> Result<Option<Box<dyn SyncService>>> {
        p.inner.create_sync_service(repo_dir, cache)
    }

    // Locks.
    fn acquire(l: &mut LockCx) -> Result<()> {
        l.inner.acquire()
    }
    fn release(l: &mut LockCx) -> Result<()> {
        l.inner.release()
    }
    fn inspect(l: &LockCx) -> Result<Option<LockInfo>> {
        l.inner.inspect()
    }
    fn force_release(l: &mut LockCx, expected_nonce: &str) -> Result<bool> {
        l.inner.force_release(expected_nonce)
    }
    fn heartbeat(l: &mut LockCx) -> Result<()> {
        l.inner.heartbeat()
    }
    fn lock_key(l: &LockCx) -> String {
        l.inner.lock_key()
    }

    // The verifier.
    fn verify(v: &dyn Verifier) -> Result<HealthResult> {
        v.verify()
    }

    // Sync.
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.pull_changed(o)
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.push_changed(o)
    }
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        s.inner.mark_dirty(o)
    }
    fn capabilities(s: &SyncCx) -> SyncCapabilities {
        s.inner.capabilities()
    }
    fn hydrate_file(s: &mut SyncCx, rel: &str, o: &SyncOptions) -> Result<bool> {
        s.inner.hydrate_file(rel, o)
    }
    fn prepare_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushManifest> {
        s.inner.prepare_push(o)
    }
    fn commit_push(s: &mut SyncCx, m: PushManifest, o: &SyncOptions) -> Result<u32> {
        s.inner.commit_push(m, o)
    }
    fn preview_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushPreview> {
        s.inner.preview_push(o)
    }

    // The shared store.
    fn control_put(s: &mut SyncCx, ns: Option<&str>, key: &str, data: &[u8]) -> Result<()> {
        s.store()?.control_put(ns, key, data)
    }
    fn control_get(s: &mut SyncCx, ns: Option<&str>, key: &str) -> Result<Option<Vec<u8>>> {
        s.store()?.control_get(ns, key)
    }
    fn control_delete(s: &mut SyncCx, ns: Option<&str>, key: &str) -> Result<()> {
        s.store()?.control_delete(ns, key)
    }
    fn control_list(s: &mut SyncCx, ns: Option<&str>, prefix: &str) -> Result<Vec<String>> {
        s.store()?.control_list(ns, prefix)
    }
    fn control_put_if_absent(
        s: &mut SyncCx,
        ns: Option<&str>,
        key: &str,
        data: &[u8],
    ) -> Result<bool> {
        s.store()?.control_put_if_absent(ns, key, data)
    }
    fn export_catalog(s: &mut SyncCx, ns: &str, rows_json: &str) -> Result<bool> {
        s.store()?.export_catalog(ns, rows_json)
    }
    fn pull_foreign_catalogs(s: &mut SyncCx, namespaces: &[String]) -> Result<Vec<CatalogExport>> {
        s.store()?.pull_foreign_catalogs(namespaces)
    }
    fn fetch_foreign_content(s: &mut SyncCx, ns: &str, rel: &str) -> Result<Option<Vec<u8>>> {
        s.store()?.fetch_foreign_content(ns, rel)
    }
    fn repair_namespace_contamination(
        s: &mut SyncCx,
        ns: Option<&str>,
        dry_run: bool,
    ) -> Result<ContaminationSummary> {
        s.store()?.repair_namespace_contamination(ns, dry_run)
    }
}

/// The exported datastore: fs-datastore with `B`'s hooks.
pub struct Broken<B>(PhantomData<B>);

impl<B: Break> Datastore for Broken<B> {
    fn datastore_type() -> String {
        B::datastore_type()
    }
    fn name() -> String {
        B::name()
    }
    fn description() -> String {
        B::description()
    }
    fn config_schema() -> String {
        B::config_schema()
    }
    fn create_provider(config: Value) -> Result<Box<dyn Provider>> {
        let config = B::parse_config(&config)?;
        let inner = FsProvider::new(config.clone(), &B::datastore_type(), sdk::host::identity);
        Ok(Box::new(HookedProvider::<B> {
            cx: ProviderCx { inner, config },
            _b: PhantomData,
        }))
    }
}

struct HookedProvider<B> {
    cx: ProviderCx,
    _b: PhantomData<B>,
}

impl<B: Break> Provider for HookedProvider<B> {
    fn features(&self) -> ProviderFeatures {
        B::features(&self.cx)
    }
    fn create_lock(&self, datastore_path: &str, options: LockOptions) -> Result<Box<dyn Lock>> {
        let inner = B::create_lock(&self.cx, datastore_path, options.clone())?;
        let path = PathBuf::from(datastore_path).join(inner.lock_key());
        Ok(Box::new(HookedLock::<B> {
            cx: LockCx {
                inner,
                path,
                options,
                who: sdk::host::identity(),
                held: None,
                memo: None,
            },
            _b: PhantomData,
        }))
    }
    fn create_verifier(&self) -> Result<Box<dyn Verifier>> {
        Ok(Box::new(HookedVerifier::<B> {
            inner: B::create_verifier(&self.cx)?,
            _b: PhantomData,
        }))
    }
    fn resolve_datastore_path(&self, repo_dir: &str) -> Result<String> {
        B::resolve_datastore_path(&self.cx, repo_dir)
    }
    fn create_sync_service(
        &self,
        repo_dir: &str,
        cache_path: &str,
    ) -> Result<Option<Box<dyn SyncService>>> {
        let Some(inner) = B::create_sync_service(&self.cx, repo_dir, cache_path)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(HookedSync::<B> {
            cx: SyncCx {
                inner,
                cache: PathBuf::from(cache_path),
                share: PathBuf::from(&self.cx.config.path),
                paths: Vec::new(),
                flag: false,
                calls: Cell::new(0),
            },
            _b: PhantomData,
        })))
    }
    fn resolve_cache_path(&self, repo_dir: &str) -> Result<Option<String>> {
        self.cx.inner.resolve_cache_path(repo_dir)
    }
    fn register_namespace(
        &self,
        datastore_path: &str,
        namespace: &str,
        repo_id: &str,
    ) -> Result<()> {
        B::register_namespace(&self.cx, datastore_path, namespace, repo_id)
    }
    fn list_namespaces(&self, datastore_path: &str) -> Result<Vec<String>> {
        self.cx.inner.list_namespaces(datastore_path)
    }
}

struct HookedLock<B> {
    cx: LockCx,
    _b: PhantomData<B>,
}

impl<B: Break> Lock for HookedLock<B> {
    fn acquire(&mut self) -> Result<()> {
        B::acquire(&mut self.cx)?;
        self.cx.held = self.cx.stored();
        Ok(())
    }
    fn release(&mut self) -> Result<()> {
        let r = B::release(&mut self.cx);
        self.cx.held = None;
        r
    }
    fn inspect(&self) -> Result<Option<LockInfo>> {
        B::inspect(&self.cx)
    }
    fn force_release(&mut self, expected_nonce: &str) -> Result<bool> {
        B::force_release(&mut self.cx, expected_nonce)
    }
    fn heartbeat(&mut self) -> Result<()> {
        B::heartbeat(&mut self.cx)
    }
    fn lock_key(&self) -> String {
        B::lock_key(&self.cx)
    }
    fn ttl_ms(&self) -> u64 {
        self.cx.inner.ttl_ms()
    }
}

struct HookedVerifier<B> {
    inner: Box<dyn Verifier>,
    _b: PhantomData<B>,
}

impl<B: Break> Verifier for HookedVerifier<B> {
    fn verify(&self) -> Result<HealthResult> {
        B::verify(self.inner.as_ref())
    }
}

struct HookedSync<B> {
    cx: SyncCx,
    _b: PhantomData<B>,
}

impl<B: Break> SyncService for HookedSync<B> {
    fn pull_changed(&mut self, o: &SyncOptions) -> Result<u32> {
        B::pull_changed(&mut self.cx, o)
    }
    fn push_changed(&mut self, o: &SyncOptions) -> Result<u32> {
        B::push_changed(&mut self.cx, o)
    }
    fn mark_dirty(&mut self, o: &SyncOptions) -> Result<()> {
        B::mark_dirty(&mut self.cx, o)
    }
    fn capabilities(&self) -> SyncCapabilities {
        B::capabilities(&self.cx)
    }
    fn hydrate_file(&mut self, rel: &str, o: &SyncOptions) -> Result<bool> {
        B::hydrate_file(&mut self.cx, rel, o)
    }
    fn prepare_push(&mut self, o: &SyncOptions) -> Result<PushManifest> {
        B::prepare_push(&mut self.cx, o)
    }
    fn commit_push(&mut self, m: PushManifest, o: &SyncOptions) -> Result<u32> {
        B::commit_push(&mut self.cx, m, o)
    }
    fn preview_push(&mut self, o: &SyncOptions) -> Result<PushPreview> {
        B::preview_push(&mut self.cx, o)
    }
    fn shared_store(&mut self) -> Option<&mut dyn SharedStore> {
        self.cx.inner.shared_store()?;
        Some(self)
    }
}

impl<B: Break> SharedStore for HookedSync<B> {
    fn features(&self) -> SharedFeatures {
        // fs-datastore's engine has every feature; the hooks break calls,
        // never what is advertised.
        SharedFeatures {
            control_plane: true,
            catalogs: true,
            contamination_repair: true,
        }
    }
    fn control_put(&mut self, ns: Option<&str>, key: &str, data: &[u8]) -> Result<()> {
        B::control_put(&mut self.cx, ns, key, data)
    }
    fn control_get(&mut self, ns: Option<&str>, key: &str) -> Result<Option<Vec<u8>>> {
        B::control_get(&mut self.cx, ns, key)
    }
    fn control_delete(&mut self, ns: Option<&str>, key: &str) -> Result<()> {
        B::control_delete(&mut self.cx, ns, key)
    }
    fn control_list(&mut self, ns: Option<&str>, prefix: &str) -> Result<Vec<String>> {
        B::control_list(&mut self.cx, ns, prefix)
    }
    fn control_put_if_absent(&mut self, ns: Option<&str>, key: &str, data: &[u8]) -> Result<bool> {
        B::control_put_if_absent(&mut self.cx, ns, key, data)
    }
    fn export_catalog(&mut self, ns: &str, rows_json: &str) -> Result<bool> {
        B::export_catalog(&mut self.cx, ns, rows_json)
    }
    fn pull_foreign_catalogs(&mut self, namespaces: &[String]) -> Result<Vec<CatalogExport>> {
        B::pull_foreign_catalogs(&mut self.cx, namespaces)
    }
    fn fetch_foreign_content(&mut self, ns: &str, rel: &str) -> Result<Option<Vec<u8>>> {
        B::fetch_foreign_content(&mut self.cx, ns, rel)
    }
    fn repair_namespace_contamination(
        &mut self,
        ns: Option<&str>,
        dry_run: bool,
    ) -> Result<ContaminationSummary> {
        B::repair_namespace_contamination(&mut self.cx, ns, dry_run)
    }
}

/// What a broken guest's bin needs: `use test_guests::prelude::*;`.
pub mod prelude {
    pub use crate::sdk::serde_json::{self, Value, json};
    pub use crate::sdk::sync::rules::INDEX_FILE;
    pub use crate::sdk::{
        CatalogExport, ContaminationSummary, Error, HealthResult, Lock, LockInfo, LockOptions,
        Provider, ProviderFeatures, PushManifest, PushPreview, RelPath, Result, SharedStore,
        SyncCapabilities, SyncOptions, SyncService, Verifier, iso_time,
    };
    pub use crate::{Break, LockCx, ProviderCx, SyncCx, export_broken};
}
