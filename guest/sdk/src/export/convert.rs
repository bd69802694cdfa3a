//! Conversions between the SDK's plain types and the generated ones. Kept
//! here so no author ever names a generated type.

use crate::bindings::exports::swamp::datastore::{
    lock as wl, provider as wp, sync as ws, verifier as wv,
};
use crate::bindings::swamp::datastore::types as wt;
use crate::error::Error;
use crate::lock_info::LockInfo;
use swamp_datastore_types::{
    HealthResult, LockOptions, ModelRef, ProviderFeatures, PushManifest, PushPreview,
    SyncCapabilities, SyncContext, SyncOptions,
};

impl From<LockInfo> for wt::LockInfo {
    fn from(l: LockInfo) -> Self {
        wt::LockInfo {
            holder: l.holder,
            hostname: l.hostname,
            pid: l.pid,
            acquired_at: l.acquired_at,
            ttl_ms: l.ttl_ms,
            nonce: l.nonce,
        }
    }
}

impl From<Error> for wt::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::LockTimeout {
                lock_key,
                holder,
                waited_ms,
            } => wt::Error::LockTimeout(wt::LockTimeout {
                lock_key,
                holder: holder.map(Into::into),
                waited_ms,
            }),
            Error::LockLost(m) => wt::Error::LockLost(m),
            Error::InvalidConfig(ps) => wt::Error::InvalidConfig(
                ps.into_iter()
                    .map(|p| wt::ConfigProblem {
                        path: p.path,
                        message: p.message,
                    })
                    .collect(),
            ),
            Error::InvalidArgument(m) => wt::Error::InvalidArgument(m),
            Error::NotFound(m) => wt::Error::NotFound(m),
            Error::Conflict(m) => wt::Error::Conflict(m),
            Error::CorruptData(m) => wt::Error::CorruptData(m),
            Error::Unavailable(m) => wt::Error::Unavailable(m),
            Error::PermissionDenied(m) => wt::Error::PermissionDenied(m),
            Error::Aborted(m) => wt::Error::Aborted(m),
            Error::Unsupported(m) => wt::Error::Unsupported(m),
            Error::Internal(m) => wt::Error::Internal(m),
        }
    }
}

impl From<wl::LockOptions> for LockOptions {
    fn from(o: wl::LockOptions) -> Self {
        LockOptions {
            lock_key: o.lock_key,
            ttl_ms: o.ttl_ms,
            retry_interval_ms: o.retry_interval_ms,
            max_wait_ms: o.max_wait_ms,
        }
    }
}

impl From<HealthResult> for wv::HealthResult {
    fn from(h: HealthResult) -> Self {
        wv::HealthResult {
            healthy: h.healthy,
            message: h.message,
            // NaN or negative would break the contract; clamp.
            latency_ms: if h.latency_ms.is_finite() {
                h.latency_ms.max(0.0)
            } else {
                0.0
            },
            datastore_type: h.datastore_type,
            details: h.details,
        }
    }
}

impl From<ws::SyncOptions> for SyncOptions {
    fn from(o: ws::SyncOptions) -> Self {
        SyncOptions {
            rel_path: o.rel_path,
            context: o.context.map(|c| SyncContext {
                models: c
                    .models
                    .into_iter()
                    .map(|m| ModelRef {
                        model_type: m.model_type,
                        model_id: m.model_id,
                    })
                    .collect(),
            }),
            metadata_only: o.metadata_only,
            namespace: o.namespace,
            timeout_ms: o.timeout_ms,
        }
    }
}

impl From<SyncCapabilities> for ws::SyncCapabilities {
    fn from(c: SyncCapabilities) -> Self {
        ws::SyncCapabilities {
            scoped_sync: c.scoped_sync,
            lazy_hydration: c.lazy_hydration,
            namespaced_sync: c.namespaced_sync,
            two_phase_sync: c.two_phase_sync,
            preview_push: c.preview_push,
        }
    }
}

impl From<PushPreview> for ws::PushPreview {
    fn from(p: PushPreview) -> Self {
        ws::PushPreview {
            total: p.total,
            new: p.new,
            changed: p.changed,
            deleted: p.deleted,
        }
    }
}

impl From<PushManifest> for ws::PushManifest {
    fn from(m: PushManifest) -> Self {
        ws::PushManifest {
            pushed: m.pushed,
            deleted: m.deleted,
            payload: m.payload,
        }
    }
}

impl From<ws::PushManifest> for PushManifest {
    fn from(m: ws::PushManifest) -> Self {
        PushManifest {
            pushed: m.pushed,
            deleted: m.deleted,
            payload: m.payload,
        }
    }
}

impl From<ProviderFeatures> for wp::ProviderFeatures {
    fn from(f: ProviderFeatures) -> Self {
        wp::ProviderFeatures {
            sync: f.sync,
            cache_path: f.cache_path,
            namespaces: f.namespaces,
        }
    }
}
