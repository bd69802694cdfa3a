//! Records of `wit/sync.wit`.

use serde::{Deserialize, Serialize};

/// A model an operation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRef {
    /// Model type, may contain `/`.
    pub model_type: String,
    /// Model id.
    pub model_id: String,
}

/// What a scoped sync is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncContext {
    /// Models relevant to the operation; empty = the whole datastore.
    pub models: Vec<ModelRef>,
}

/// Options of every sync call. From JSON as the packaged extension writes
/// them (`packaging/js/convert.ts`): camelCase, every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
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
    /// Options of `mark-dirty(rel-path)`.
    pub fn rel_path(path: impl Into<String>) -> Self {
        Self {
            rel_path: Some(path.into()),
            ..Self::default()
        }
    }

    /// Options of a pull that skips content files.
    pub fn metadata_only() -> Self {
        Self {
            metadata_only: true,
            ..Self::default()
        }
    }

    /// These options restricted to namespace `ns`.
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// These options scoped to `models`.
    pub fn with_models(mut self, models: Vec<ModelRef>) -> Self {
        self.context = Some(SyncContext { models });
        self
    }

    /// The models of a scoped call; empty when unscoped.
    pub fn models(&self) -> &[ModelRef] {
        self.context
            .as_ref()
            .map(|c| c.models.as_slice())
            .unwrap_or(&[])
    }
}

/// Optional sync features. Advertise only what truly works.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushManifest {
    /// Files uploaded by the prepare phase.
    pub pushed: u32,
    /// Remote files deleted by the prepare phase.
    pub deleted: u32,
    /// Guest-private serialisation of what commit must record.
    pub payload: String,
}
