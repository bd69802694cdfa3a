//! Plain host-side mirrors of the WIT records. The rest of the host (and
//! every caller) works with these; generated binding types never leak out
//! of `bindings.rs` and `convert.rs`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One problem of a config, with the JSON Pointer of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

/// The body of a lock file or lock object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    pub holder: String,
    pub hostname: String,
    pub pid: u32,
    pub acquired_at: String,
    pub ttl_ms: u64,
    pub nonce: Option<String>,
}

/// How a lock behaves; `None` means swamp's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockOptions {
    pub lock_key: Option<String>,
    pub ttl_ms: Option<u64>,
    pub retry_interval_ms: Option<u64>,
    pub max_wait_ms: Option<u64>,
}

impl LockOptions {
    /// swamp's defaults: TTL 30 s, retry every 1 s, wait at most 60 s.
    pub const DEFAULT_TTL_MS: u64 = 30_000;
    pub const DEFAULT_RETRY_INTERVAL_MS: u64 = 1_000;
    pub const DEFAULT_MAX_WAIT_MS: u64 = 60_000;

    pub fn with_key(key: impl Into<String>) -> Self {
        Self {
            lock_key: Some(key.into()),
            ..Self::default()
        }
    }

    pub fn ttl_ms(mut self, ms: u64) -> Self {
        self.ttl_ms = Some(ms);
        self
    }

    pub fn retry_interval_ms(mut self, ms: u64) -> Self {
        self.retry_interval_ms = Some(ms);
        self
    }

    pub fn max_wait_ms(mut self, ms: u64) -> Self {
        self.max_wait_ms = Some(ms);
        self
    }

    pub fn effective_max_wait_ms(&self) -> u64 {
        self.max_wait_ms.unwrap_or(Self::DEFAULT_MAX_WAIT_MS)
    }
}

/// The outcome of a health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResult {
    pub healthy: bool,
    pub message: String,
    pub latency_ms: f64,
    pub datastore_type: String,
    pub details: BTreeMap<String, String>,
}

/// A model a scoped sync is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRef {
    pub model_type: String,
    pub model_id: String,
}

/// Options of the sync calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    pub rel_path: Option<String>,
    pub models: Option<Vec<ModelRef>>,
    pub metadata_only: bool,
    pub namespace: Option<String>,
    pub timeout_ms: Option<u64>,
}

impl SyncOptions {
    /// Options of `mark-dirty(rel-path)`.
    pub fn rel_path(path: impl Into<String>) -> Self {
        Self {
            rel_path: Some(path.into()),
            ..Self::default()
        }
    }

    pub fn metadata_only() -> Self {
        Self {
            metadata_only: true,
            ..Self::default()
        }
    }

    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    pub fn models(mut self, models: Vec<ModelRef>) -> Self {
        self.models = Some(models);
        self
    }
}

/// Optional features of a sync service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncCapabilities {
    pub scoped_sync: bool,
    pub lazy_hydration: bool,
    pub namespaced_sync: bool,
    pub two_phase_sync: bool,
    pub preview_push: bool,
}

/// Which shared-store calls a sync service has (`wit/shared-store.wit`);
/// all off for a component built before WIT 0.1.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedFeatures {
    pub control_plane: bool,
    pub catalogs: bool,
    pub contamination_repair: bool,
}

/// One namespace's catalog export: the stored JSON array, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogExport {
    pub namespace: String,
    pub rows_json: String,
}

/// A foreign namespace found inside the checked one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForeignNamespace {
    pub namespace: String,
    pub object_count: u32,
}

/// What a contamination check found and deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContaminationSummary {
    pub foreign_namespaces: Vec<ForeignNamespace>,
    pub total_foreign_objects: u32,
    pub deleted: u32,
}

/// What a push would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PushPreview {
    pub total: u32,
    pub new: u32,
    pub changed: u32,
    pub deleted: u32,
}

/// The opaque result of prepare-push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushManifest {
    pub pushed: u32,
    pub deleted: u32,
    pub payload: String,
}

/// Which optional provider calls exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderFeatures {
    pub sync: bool,
    pub cache_path: bool,
    pub namespaces: bool,
}

/// Who the host says is holding locks (the `host-info` import).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderIdentity {
    pub user: String,
    pub hostname: String,
    pub pid: u32,
}

impl HolderIdentity {
    /// This process: `$USER` (or `$USERNAME`, else "unknown"), the machine's
    /// host name and the process id.
    pub fn of_this_process() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".to_string());
        Self {
            user,
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
        }
    }
}

/// Identity of a loaded component: what `inspect` prints.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreInfo {
    #[serde(rename = "type")]
    pub datastore_type: String,
    pub name: String,
    pub description: String,
    /// The config schema as the component exported it (JSON Schema text).
    pub config_schema: String,
}
