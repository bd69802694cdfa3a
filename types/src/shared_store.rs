//! Records of `wit/shared-store.wit`.

use serde::Serialize;

/// Which shared-store calls work. Advertise only what truly works; all
/// off for a component built before WIT 0.1.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedFeatures {
    /// The control-record calls (swamp's `controlPlane`).
    pub control_plane: bool,
    /// Catalog export, foreign catalogs and foreign content.
    pub catalogs: bool,
    /// Namespace contamination repair.
    pub contamination_repair: bool,
}

/// One namespace's catalog export, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogExport {
    /// The namespace it was read from.
    pub namespace: String,
    /// The stored JSON array, as text.
    pub rows_json: String,
}

/// A foreign namespace found inside the checked one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForeignNamespace {
    /// The foreign (registered) namespace.
    pub namespace: String,
    /// Its objects under `{checked}/{foreign}/`.
    pub object_count: u32,
}

/// What a contamination check found and deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContaminationSummary {
    /// Each foreign namespace with its object count.
    pub foreign_namespaces: Vec<ForeignNamespace>,
    /// Sum of the counts.
    pub total_foreign_objects: u32,
    /// Objects deleted (0 on a dry run).
    pub deleted: u32,
}
