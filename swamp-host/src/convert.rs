//! Conversions between generated binding types and `crate::types`.

use crate::bindings::{guest, wit};
use crate::error::DatastoreError;
use crate::types::*;

impl From<wit::LockInfo> for LockInfo {
    fn from(i: wit::LockInfo) -> Self {
        Self {
            holder: i.holder,
            hostname: i.hostname,
            pid: i.pid,
            acquired_at: i.acquired_at,
            ttl_ms: i.ttl_ms,
            nonce: i.nonce,
        }
    }
}

impl From<wit::ConfigProblem> for ConfigProblem {
    fn from(p: wit::ConfigProblem) -> Self {
        Self {
            path: p.path,
            message: p.message,
        }
    }
}

impl From<wit::Error> for DatastoreError {
    fn from(e: wit::Error) -> Self {
        use wit::Error as W;
        match e {
            W::LockTimeout(t) => Self::LockTimeout {
                lock_key: t.lock_key,
                holder: t.holder.map(|h| Box::new(h.into())),
                waited_ms: t.waited_ms,
            },
            W::LockLost(m) => Self::LockLost(m),
            W::InvalidConfig(p) => Self::InvalidConfig(p.into_iter().map(Into::into).collect()),
            W::InvalidArgument(m) => Self::InvalidArgument(m),
            W::NotFound(m) => Self::NotFound(m),
            W::Conflict(m) => Self::Conflict(m),
            W::CorruptData(m) => Self::CorruptData(m),
            W::Unavailable(m) => Self::Unavailable(m),
            W::PermissionDenied(m) => Self::PermissionDenied(m),
            W::Aborted(m) => Self::Aborted(m),
            W::Unsupported(m) => Self::Unsupported(m),
            W::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<&LockOptions> for guest::lock::LockOptions {
    fn from(o: &LockOptions) -> Self {
        Self {
            lock_key: o.lock_key.clone(),
            ttl_ms: o.ttl_ms,
            retry_interval_ms: o.retry_interval_ms,
            max_wait_ms: o.max_wait_ms,
        }
    }
}

impl From<guest::verifier::HealthResult> for HealthResult {
    fn from(r: guest::verifier::HealthResult) -> Self {
        Self {
            healthy: r.healthy,
            message: r.message,
            latency_ms: r.latency_ms,
            datastore_type: r.datastore_type,
            details: r.details.into_iter().collect(),
        }
    }
}

impl From<&SyncOptions> for guest::sync::SyncOptions {
    fn from(o: &SyncOptions) -> Self {
        Self {
            rel_path: o.rel_path.clone(),
            context: o.context.as_ref().map(|c| guest::sync::SyncContext {
                models: c
                    .models
                    .iter()
                    .map(|m| guest::sync::ModelRef {
                        model_type: m.model_type.clone(),
                        model_id: m.model_id.clone(),
                    })
                    .collect(),
            }),
            metadata_only: o.metadata_only,
            namespace: o.namespace.clone(),
            timeout_ms: o.timeout_ms,
        }
    }
}

impl From<guest::sync::SyncCapabilities> for SyncCapabilities {
    fn from(c: guest::sync::SyncCapabilities) -> Self {
        Self {
            scoped_sync: c.scoped_sync,
            lazy_hydration: c.lazy_hydration,
            namespaced_sync: c.namespaced_sync,
            two_phase_sync: c.two_phase_sync,
            preview_push: c.preview_push,
        }
    }
}

impl From<guest::shared_store::SharedFeatures> for SharedFeatures {
    fn from(f: guest::shared_store::SharedFeatures) -> Self {
        Self {
            control_plane: f.control_plane,
            catalogs: f.catalogs,
            contamination_repair: f.contamination_repair,
        }
    }
}

impl From<guest::shared_store::CatalogExport> for CatalogExport {
    fn from(c: guest::shared_store::CatalogExport) -> Self {
        Self {
            namespace: c.namespace,
            rows_json: c.rows_json,
        }
    }
}

impl From<guest::shared_store::ContaminationSummary> for ContaminationSummary {
    fn from(c: guest::shared_store::ContaminationSummary) -> Self {
        Self {
            foreign_namespaces: c
                .foreign_namespaces
                .into_iter()
                .map(|f| ForeignNamespace {
                    namespace: f.namespace,
                    object_count: f.object_count,
                })
                .collect(),
            total_foreign_objects: c.total_foreign_objects,
            deleted: c.deleted,
        }
    }
}

impl From<guest::sync::PushPreview> for PushPreview {
    fn from(p: guest::sync::PushPreview) -> Self {
        Self {
            total: p.total,
            new: p.new,
            changed: p.changed,
            deleted: p.deleted,
        }
    }
}

impl From<guest::sync::PushManifest> for PushManifest {
    fn from(m: guest::sync::PushManifest) -> Self {
        Self {
            pushed: m.pushed,
            deleted: m.deleted,
            payload: m.payload,
        }
    }
}

impl From<&PushManifest> for guest::sync::PushManifest {
    fn from(m: &PushManifest) -> Self {
        Self {
            pushed: m.pushed,
            deleted: m.deleted,
            payload: m.payload.clone(),
        }
    }
}

impl From<guest::provider::ProviderFeatures> for ProviderFeatures {
    fn from(f: guest::provider::ProviderFeatures) -> Self {
        Self {
            sync: f.sync,
            cache_path: f.cache_path,
            namespaces: f.namespaces,
        }
    }
}
