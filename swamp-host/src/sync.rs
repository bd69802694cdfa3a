//! The sync-service handle. Each call's deadline is the options'
//! `timeout_ms` (swamp's default sync timeout, 300 s, when absent); the host
//! stops the guest when it runs past it, whether or not the guest honours it.

use crate::bindings::guest::sync as wit_sync;
use crate::error::HostResult;
use crate::guest_resource::GuestResource;
use crate::instance::{Instance, InstanceUsage};
use crate::types::{PushManifest, PushPreview, SyncCapabilities, SyncOptions};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceAny;

/// swamp's default time a push or a pull may take.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(300);

/// A sync service between one cache and one remote, in its own instance.
#[derive(Clone)]
pub struct SyncService {
    /// The guest service, dropped in the guest with the last handle (see
    /// `swamp-host/src/guest_resource.rs`).
    pub(crate) guest: GuestResource,
}

/// Expands to one guest call of the sync-service resource.
macro_rules! sync_call {
    ($self:ident, $name:literal, $opts:expr, |$s:ident, $svc:ident, $r:ident, $o:ident| $call:expr) => {{
        let $r = $self.guest.get();
        let $o: wit_sync::SyncOptions = $opts.into();
        let budget = Some(
            $o.timeout_ms
                .map_or(DEFAULT_SYNC_TIMEOUT, Duration::from_millis),
        );
        $self
            .guest
            .instance()
            .call($name, budget, move |$s, b| {
                Box::pin(async move {
                    let $svc = b.swamp_datastore_sync().sync_service();
                    $call.await
                })
            })
            .await
    }};
}

impl SyncService {
    pub(crate) fn new(instance: Arc<Instance>, resource: ResourceAny) -> Self {
        Self {
            guest: GuestResource::new(instance, resource),
        }
    }

    /// Memory (high-water mark) and HTTP requests of this sync service's
    /// instance so far; subtract two snapshots to see what one call did.
    pub fn usage(&self) -> InstanceUsage {
        self.guest.instance().meters.snapshot()
    }

    /// Aborts this service's running call (see [`CallAbort`](crate::CallAbort)).
    pub fn abort_handle(&self) -> crate::CallAbort {
        self.guest.instance().abort.clone()
    }

    /// Download what changed in the remote store into the cache; returns
    /// how many files were downloaded. Local files with unpushed edits are
    /// never overwritten.
    pub async fn pull_changed(&self, options: &SyncOptions) -> HostResult<u32> {
        sync_call!(self, "sync.pull-changed", options, |s, svc, r, o| svc
            .call_pull_changed(s, r, &o))
    }

    /// Upload what changed in the cache; returns the files uploaded plus
    /// the remote files deleted. After [`mark_dirty`](Self::mark_dirty) with
    /// paths, only those paths are looked at.
    pub async fn push_changed(&self, options: &SyncOptions) -> HostResult<u32> {
        sync_call!(self, "sync.push-changed", options, |s, svc, r, o| svc
            .call_push_changed(s, r, &o))
    }

    /// Record, before a write begins, that the cache is about to change: at
    /// `options.rel_path`, or anywhere when it is `None`. The next push
    /// uploads or deletes what was recorded; calling it twice is harmless.
    pub async fn mark_dirty(&self, options: &SyncOptions) -> HostResult<()> {
        sync_call!(self, "sync.mark-dirty", options, |s, svc, r, o| svc
            .call_mark_dirty(s, r, &o))
    }

    /// Download the one cache-relative file `rel_path` now, after a
    /// metadata-only pull left it out. True when downloaded, false when the
    /// remote has no such file; unsupported unless `lazy_hydration`.
    pub async fn hydrate_file(&self, rel_path: &str, options: &SyncOptions) -> HostResult<bool> {
        let rel = rel_path.to_string();
        sync_call!(self, "sync.hydrate-file", options, |s, svc, r, o| svc
            .call_hydrate_file(s, r, &rel, &o))
    }

    /// Phase one of a two-phase push: upload new and changed files and
    /// delete removed ones, without updating the remote index or clearing
    /// dirty state. Hand the manifest to [`commit_push`](Self::commit_push).
    pub async fn prepare_push(&self, options: &SyncOptions) -> HostResult<PushManifest> {
        sync_call!(self, "sync.prepare-push", options, |s, svc, r, o| svc
            .call_prepare_push(s, r, &o))
        .map(Into::into)
    }

    /// Phase two of a two-phase push: merge `manifest` from
    /// [`prepare_push`](Self::prepare_push) into the current remote index
    /// and clear dirty state; returns how many index entries changed.
    pub async fn commit_push(
        &self,
        manifest: &PushManifest,
        options: &SyncOptions,
    ) -> HostResult<u32> {
        let m = wit_sync::PushManifest::from(manifest);
        sync_call!(self, "sync.commit-push", options, |s, svc, r, o| svc
            .call_commit_push(s, r, &m, &o))
    }

    /// What [`push_changed`](Self::push_changed) would do, as counts of
    /// new, changed and deleted files, without changing anything;
    /// unsupported unless `preview_push`.
    pub async fn preview_push(&self, options: &SyncOptions) -> HostResult<PushPreview> {
        sync_call!(self, "sync.preview-push", options, |s, svc, r, o| svc
            .call_preview_push(s, r, &o))
        .map(Into::into)
    }

    /// The optional features this service supports (scoped sync, lazy
    /// hydration, namespaces, two-phase push, push preview); a call whose
    /// feature is absent fails as unsupported.
    pub async fn capabilities(&self) -> HostResult<SyncCapabilities> {
        let r = self.guest.get();
        self.guest
            .instance()
            .call_infallible("sync.capabilities", move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_sync()
                        .sync_service()
                        .call_capabilities(s, r)
                        .await
                })
            })
            .await
            .map(Into::into)
    }
}
