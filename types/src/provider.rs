//! Records of `wit/provider.wit`, and the config problem of `wit/types.wit`.

use serde::{Deserialize, Serialize};

/// One problem found in a datastore config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// JSON Pointer of the offending value ("" for the whole document).
    pub path: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

/// Which optional provider calls work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderFeatures {
    /// create-sync-service returns a service.
    pub sync: bool,
    /// resolve-cache-path chooses the cache location.
    pub cache_path: bool,
    /// register-namespace and list-namespaces work.
    pub namespaces: bool,
}
