//! Path rules shared by every sync backend, reproduced from swamp's S3
//! datastore so indexes and buckets stay interoperable: which files never
//! cross the sync boundary (docs/contract.md §5.2), which are lazily
//! hydrated content (§5.6), the shard partition key (§5.5), and model
//! scopes.

use std::collections::BTreeSet;

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::rel_path::{RelPath, is_within};
use swamp_datastore_types::ModelRef;

/// File name of the monolithic index, remote and local.
pub const INDEX_FILE: &str = ".datastore-index.json";
/// File name of the local sync sidecar.
pub const SIDECAR_FILE: &str = ".datastore-sync-state.json";

/// Files that never cross the sync boundary (`isInternalCacheFile`): the
/// index, sidecar, legacy push queue and global lock at the root; anything
/// under `_index/` or `_control/`; any `.lock` or `.namespace.json`; the
/// catalog database and its journals.
pub fn is_internal(rel: &str) -> bool {
    if matches!(
        rel,
        INDEX_FILE | ".push-queue.json" | ".datastore.lock" | SIDECAR_FILE
    ) {
        return true;
    }
    if is_within(rel, "_index") || is_within(rel, "_control") {
        return true;
    }
    let base = rel.rsplit('/').next().unwrap_or(rel);
    base == ".lock"
        || base == ".namespace.json"
        || base == "_catalog.db"
        || base.starts_with("_catalog.db-")
}

/// Internal files plus temporary files a crashed writer left behind.
pub fn is_never_synced(rel: &str) -> bool {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    is_internal(rel) || atomic_file::is_temp_name(base)
}

/// Content that a metadata-only pull skips: under `data/`, at least three
/// segments, basename `raw`.
pub fn is_lazy_content(rel: &str) -> bool {
    let segs: Vec<&str> = rel.split('/').collect();
    segs.len() >= 3 && segs[0] == "data" && segs[segs.len() - 1] == "raw"
}

/// The shard an index entry belongs to, exactly as swamp computes it (the
/// function is depth-based; docs/contract.md §5.5 has its known quirks).
pub fn partition_key(rel: &str) -> Option<String> {
    if rel.is_empty() {
        return None;
    }
    let segs: Vec<&str> = rel.split('/').collect();
    if segs.len() == 1 {
        return Some("_root".to_string());
    }
    match segs[0] {
        "data" | "outputs" | "definitions-evaluated" => {
            if segs.len() < 4 {
                None
            } else {
                let keep = if segs.len() >= 6 {
                    segs.len() - 3
                } else {
                    segs.len() - 1
                };
                Some(segs[..keep].join("--"))
            }
        }
        "workflow-runs" => (segs.len() >= 3).then(|| format!("workflow-runs--{}", segs[1])),
        "workflows-evaluated" | "auto-definitions" | "audit" | "telemetry" | "logs" | "files" => {
            Some(segs[0].to_string())
        }
        _ => None,
    }
}

/// Top-level directories that hold per-model data.
const MODEL_DIRS: [&str; 3] = ["data", "outputs", "definitions-evaluated"];

/// The part of the datastore a scoped call is about: every file below
/// `{data,outputs,definitions-evaluated}/{modelType}/{modelId}/`, plus any
/// file swamp's partition function assigns to one of those models' shards.
/// Directory prefixes are the primary rule because they keep a model's
/// `latest` markers with its versions, which the depth-based shard key
/// does not (docs/contract.md §5.5, §10.7).
#[derive(Debug, Clone, Default)]
pub struct ModelScope {
    dirs: Vec<String>,
    keys: BTreeSet<String>,
}

impl ModelScope {
    /// The scope of `models`; `None` when the list is empty (whole store).
    pub fn new(models: &[ModelRef]) -> Result<Option<ModelScope>> {
        if models.is_empty() {
            return Ok(None);
        }
        let mut s = ModelScope::default();
        for m in models {
            let ty = RelPath::parse(&m.model_type, "model type")?;
            if m.model_id.is_empty() || m.model_id.contains('/') {
                return Err(Error::InvalidArgument(format!(
                    "model id {:?} must be a non-empty single path segment",
                    m.model_id
                )));
            }
            let id = RelPath::parse(&m.model_id, "model id")?;
            for d in MODEL_DIRS {
                s.dirs.push(format!("{d}/{ty}/{id}"));
                s.keys
                    .insert(format!("{d}--{}--{id}", ty.as_str().replace('/', "--")));
            }
        }
        Ok(Some(s))
    }

    /// The model directories of the scope (`data/{type}/{id}`, …).
    pub fn dirs(&self) -> &[String] {
        &self.dirs
    }

    /// True when file `rel` belongs to the scope.
    pub fn contains(&self, rel: &str) -> bool {
        self.covers(rel) || partition_key(rel).is_some_and(|k| self.keys.contains(&k))
    }

    /// True when `path` (a file or directory) lies wholly inside a model
    /// directory of the scope.
    pub fn covers(&self, path: &str) -> bool {
        self.dirs.iter().any(|d| is_within(path, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_files() {
        for rel in [
            ".datastore-index.json",
            ".push-queue.json",
            ".datastore.lock",
            ".datastore-sync-state.json",
            "_index",
            "_index/_meta.json",
            "_control/heartbeats/x",
            "data/aws/vpc/id/.lock",
            "ns/.namespace.json",
            ".namespace.json",
            "_catalog.db",
            "x/_catalog.db-wal",
        ] {
            assert!(is_internal(rel), "{rel}");
        }
        for rel in [
            "data/a/b/raw",
            ".catalog-export.json",
            "_indexes/x",
            "data/.datastore-index.json",
            "x.lock",
            "_catalog.dbx",
        ] {
            assert!(!is_internal(rel), "{rel}");
        }
        assert!(is_never_synced("data/.raw.0b6d3f5e.swamp-tmp"));
    }

    #[test]
    fn lazy_content() {
        assert!(is_lazy_content("data/t/raw"));
        assert!(is_lazy_content("data/aws/ec2/vpc/id/name/1/raw"));
        assert!(!is_lazy_content("data/raw"));
        assert!(!is_lazy_content("data/t/id/name/1/metadata.yaml"));
        assert!(!is_lazy_content("outputs/t/id/raw"));
        assert!(!is_lazy_content("data/t/raw2"));
    }

    #[test]
    fn partition_key_reference_examples() {
        // The examples of docs/contract.md §5.5.
        let pk = |r: &str| partition_key(r);
        assert_eq!(
            pk("data/aws/ec2/vpc/abc-123/state-main/1/raw").as_deref(),
            Some("data--aws--ec2--vpc--abc-123")
        );
        assert_eq!(
            pk("outputs/mytype/mymodel/out1/1/raw").as_deref(),
            Some("outputs--mytype--mymodel")
        );
        assert_eq!(
            pk("workflow-runs/wf-1/run/data").as_deref(),
            Some("workflow-runs--wf-1")
        );
    }

    #[test]
    fn partition_key_edges() {
        let pk = |r: &str| partition_key(r);
        assert_eq!(pk(""), None);
        assert_eq!(pk(".catalog-export.json").as_deref(), Some("_root"));
        assert_eq!(pk("data/a/b"), None); // fewer than 4 segments
        assert_eq!(pk("data/t/id/latest").as_deref(), Some("data--t--id")); // 4: drop 1
        assert_eq!(
            pk("data/t/id/name/latest").as_deref(),
            Some("data--t--id--name")
        ); // 5: drop 1
        assert_eq!(pk("data/t/id/name/1/raw").as_deref(), Some("data--t--id")); // 6: drop 3
        // The quirk of docs/contract.md §5.5: a 3-segment type's latest
        // marker lands in another shard than its versions.
        assert_eq!(
            pk("data/aws/ec2/vpc/abc/state-main/latest").as_deref(),
            Some("data--aws--ec2--vpc")
        );
        assert_eq!(
            pk("definitions-evaluated/t/id/x").as_deref(),
            Some("definitions-evaluated--t--id")
        );
        assert_eq!(pk("workflow-runs/wf"), None);
        assert_eq!(
            pk("workflows-evaluated/a.yaml").as_deref(),
            Some("workflows-evaluated")
        );
        for d in ["auto-definitions", "audit", "telemetry", "logs", "files"] {
            assert_eq!(pk(&format!("{d}/x/y")).as_deref(), Some(d));
        }
        assert_eq!(pk("secrets/x"), None);
    }

    #[test]
    fn partition_key_depends_on_the_directory_only() {
        // commit.rs computes it once per directory of a sorted index.
        for dir in [
            "",
            "data",
            "data/t",
            "data/t/id",
            "data/t/id/n",
            "data/t/id/n/1",
            "data/aws/ec2/vpc/abc/state-main",
            "outputs/a/b/c/d/e/f",
            "workflow-runs",
            "workflow-runs/wf",
            "workflow-runs/wf/r/s",
            "logs",
            "logs/a",
            "secrets/x",
        ] {
            let at = |f: &str| {
                partition_key(&if dir.is_empty() {
                    f.to_string()
                } else {
                    format!("{dir}/{f}")
                })
            };
            for f in ["raw", "latest", "x.yaml", "1"] {
                assert_eq!(at(f), at("other"), "{dir}/{f}");
            }
        }
    }

    #[test]
    fn model_scope() {
        let m = |t: &str, i: &str| ModelRef {
            model_type: t.into(),
            model_id: i.into(),
        };
        assert!(ModelScope::new(&[]).unwrap().is_none());
        let s = ModelScope::new(&[m("aws/ec2/vpc", "abc")])
            .unwrap()
            .unwrap();
        assert!(s.contains("data/aws/ec2/vpc/abc/state/1/raw"));
        assert!(s.contains("data/aws/ec2/vpc/abc/state/latest"));
        assert!(s.contains("outputs/aws/ec2/vpc/abc/x"));
        assert!(!s.contains("data/aws/ec2/vpc/abd/state/1/raw"));
        assert!(!s.contains("workflows-evaluated/x.yaml"));
        assert!(s.covers("data/aws/ec2/vpc/abc"));
        assert!(!s.covers("data/aws/ec2/vpc"));
        assert!(ModelScope::new(&[m("../x", "a")]).is_err());
        assert!(ModelScope::new(&[m("t", "a/b")]).is_err());
        assert!(ModelScope::new(&[m("t", "")]).is_err());
    }
}
