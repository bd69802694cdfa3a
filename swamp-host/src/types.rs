//! The records callers of the host work with. Those of the WIT are the
//! one copy shared with the guest SDK (`types/`, crate
//! `swamp-datastore-types`), re-exported here; generated binding types
//! never leak out of `bindings.rs` and `convert.rs`.

use serde::Serialize;

pub use swamp_datastore_types::{
    CatalogExport, ConfigProblem, ContaminationSummary, ForeignNamespace, HealthResult,
    HolderIdentity, LockInfo, LockOptions, ModelRef, ProviderFeatures, PushManifest, PushPreview,
    SharedFeatures, SyncCapabilities, SyncContext, SyncOptions,
};

/// Identity of a loaded component: what `inspect` prints.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreInfo {
    /// The provider's `@collective/name`.
    #[serde(rename = "type")]
    pub datastore_type: String,
    /// Its human-readable name.
    pub name: String,
    /// What it stores where, in a sentence.
    pub description: String,
    /// The config schema as the component exported it (JSON Schema text).
    pub config_schema: String,
}
