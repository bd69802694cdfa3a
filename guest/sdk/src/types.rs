//! Plain Rust mirrors of the WIT records an author reads or returns. The
//! conversions to and from the generated types live in `export::convert`.

/// One problem found in a datastore config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// JSON Pointer of the offending value ("" for the whole document).
    pub path: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

/// Who the host acts for; written into lock files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderIdentity {
    /// User name of the host process.
    pub user: String,
    /// Machine name.
    pub hostname: String,
    /// Host process id.
    pub pid: u32,
}

impl HolderIdentity {
    /// The `holder` field of a lock: `"{user}@{hostname}"`.
    pub fn holder(&self) -> String {
        format!("{}@{}", self.user, self.hostname)
    }
}

/// Which optional provider calls work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderFeatures {
    /// create-sync-service returns a service.
    pub sync: bool,
    /// resolve-cache-path chooses the cache location.
    pub cache_path: bool,
    /// register-namespace and list-namespaces work.
    pub namespaces: bool,
}

/// Lock options as the host passed them; `None` means swamp's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockOptions {
    /// Backend-specific key; default [`LockOptions::DEFAULT_KEY`].
    pub lock_key: Option<String>,
    /// Lease length before the lock counts as stale.
    pub ttl_ms: Option<u64>,
    /// Pause between attempts while the lock is held.
    pub retry_interval_ms: Option<u64>,
    /// Longest time acquire may wait.
    pub max_wait_ms: Option<u64>,
}

impl LockOptions {
    /// The global lock key.
    pub const DEFAULT_KEY: &'static str = ".datastore.lock";
    /// Default lease, as in swamp.
    pub const DEFAULT_TTL_MS: u64 = 30_000;
    /// Default pause between attempts.
    pub const DEFAULT_RETRY_INTERVAL_MS: u64 = 1_000;
    /// Default longest wait.
    pub const DEFAULT_MAX_WAIT_MS: u64 = 60_000;

    /// The key, or the global default.
    pub fn key(&self) -> &str {
        self.lock_key.as_deref().unwrap_or(Self::DEFAULT_KEY)
    }
    /// The TTL, or the default; a zero TTL would make every lock stale at
    /// once, so it is raised to 1 ms.
    pub fn ttl(&self) -> u64 {
        self.ttl_ms.unwrap_or(Self::DEFAULT_TTL_MS).max(1)
    }
    /// The retry interval, or the default.
    pub fn retry_interval(&self) -> u64 {
        self.retry_interval_ms
            .unwrap_or(Self::DEFAULT_RETRY_INTERVAL_MS)
    }
    /// The longest wait, or the default.
    pub fn max_wait(&self) -> u64 {
        self.max_wait_ms.unwrap_or(Self::DEFAULT_MAX_WAIT_MS)
    }
}

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthResult {
    /// Reachable and usable (writable).
    pub healthy: bool,
    /// Status; when unhealthy it says why.
    pub message: String,
    /// Round-trip time of the probe in milliseconds, never negative.
    pub latency_ms: f64,
    /// The provider's `@collective/name`.
    pub datastore_type: String,
    /// Extra diagnostic pairs.
    pub details: Vec<(String, String)>,
}

/// A model an operation is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// Model type, may contain `/`.
    pub model_type: String,
    /// Model id.
    pub model_id: String,
}

/// What a scoped sync is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncContext {
    /// Models relevant to the operation; empty = the whole datastore.
    pub models: Vec<ModelRef>,
}

/// Options of every sync call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Cache-relative path about to change (mark-dirty only).
    pub rel_path: Option<String>,
    /// Domain context for scoped transfers.
    pub context: Option<SyncContext>,
    /// Skip content files (`data/**/raw`) on pull.
    pub metadata_only: bool,
    /// Restrict the call to `{namespace}/`; `None` = solo.
    pub namespace: Option<String>,
    /// Time the call may take.
    pub timeout_ms: Option<u64>,
}

impl SyncOptions {
    /// The models of a scoped call; empty when unscoped.
    pub fn models(&self) -> &[ModelRef] {
        self.context
            .as_ref()
            .map(|c| c.models.as_slice())
            .unwrap_or(&[])
    }
}

/// Optional sync features. Advertise only what truly works.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCapabilities {
    /// A pull given `context.models` may bring only those models' data (a
    /// push uploads every marked file whatever the context says).
    pub scoped_sync: bool,
    /// metadata-only pulls and hydrate-file work.
    pub lazy_hydration: bool,
    /// `namespace` keeps namespaces apart.
    pub namespaced_sync: bool,
    /// prepare-push / commit-push work.
    pub two_phase_sync: bool,
    /// preview-push works.
    pub preview_push: bool,
}

/// What a push would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushPreview {
    /// new + changed + deleted.
    pub total: u32,
    /// Local files the remote lacks.
    pub new: u32,
    /// Files whose content differs.
    pub changed: u32,
    /// Remote files whose local copy was deleted.
    pub deleted: u32,
}

/// Result of prepare-push, handed back to commit-push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushManifest {
    /// Files uploaded by the prepare phase.
    pub pushed: u32,
    /// Remote files deleted by the prepare phase.
    pub deleted: u32,
    /// Guest-private serialisation of what commit must record.
    pub payload: String,
}

/// Which shared-store calls work (`wit/shared-store.wit`). Advertise only
/// what truly works.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedFeatures {
    /// The control-record calls (swamp's `controlPlane`).
    pub control_plane: bool,
    /// Catalog export, foreign catalogs and foreign content.
    pub catalogs: bool,
    /// Namespace contamination repair.
    pub contamination_repair: bool,
}

/// One namespace's catalog export, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogExport {
    /// The namespace it was read from.
    pub namespace: String,
    /// The stored JSON array, as text.
    pub rows_json: String,
}

/// A foreign namespace found inside the checked one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignNamespace {
    /// The foreign (registered) namespace.
    pub namespace: String,
    /// Its objects under `{checked}/{foreign}/`.
    pub object_count: u32,
}

/// What a contamination check found and deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContaminationSummary {
    /// Each foreign namespace with its object count.
    pub foreign_namespaces: Vec<ForeignNamespace>,
    /// Sum of the counts.
    pub total_foreign_objects: u32,
    /// Objects deleted (0 on a dry run).
    pub deleted: u32,
}
