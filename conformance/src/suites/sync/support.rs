//! What every sync check stands on: the base tree, reading and comparing
//! trees, one cache with its sync service (`Side`), a fixture with caches
//! (`Env`) and small helpers for counts and error kinds.

use crate::framework::{Ctx, Fixture, OrFail, Outcome, Status, ensure, fail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use swamp_host::{DatastoreError, HostError, SyncCapabilities, SyncOptions, SyncService};

// ---------------------------------------------------------------------------
// Trees and caches.

pub(super) const MODEL_TYPE: &str = "conformance";

/// The tree every sync check starts from: nested directories, binary
/// content, an empty file, swamp's data layout.
pub(super) fn base_tree() -> Vec<(&'static str, Vec<u8>)> {
    let binary: Vec<u8> = (0..1024u32).map(|i| (i % 256) as u8).collect();
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..3000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    vec![
        (
            "models/conformance/m1/definition.yaml",
            b"name: m1\ntype: conformance\n".to_vec(),
        ),
        ("data/conformance/m1/out/1/raw", binary),
        (
            "data/conformance/m1/out/1/metadata.yaml",
            b"version: 1\n".to_vec(),
        ),
        ("data/conformance/m1/out/latest", b"1".to_vec()),
        ("data/conformance/m2/out/1/raw", noise),
        ("data/conformance/m2/out/latest", b"1".to_vec()),
        ("workflows/w1.yaml", b"steps: []\n".to_vec()),
        ("notes/empty", Vec::new()),
    ]
}

/// Files that never cross the sync boundary (docs/contract.md §5.2) and
/// guest-private sidecars.
pub(crate) fn is_internal(rel: &str) -> bool {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    matches!(
        base,
        ".datastore-index.json"
            | ".push-queue.json"
            | ".datastore.lock"
            | ".datastore-sync-state.json"
            | ".namespace.json"
    ) || base == ".lock"
        || base.ends_with(".lock")
        || base.starts_with(".datastore-")
        || base.starts_with("_catalog.db")
        || rel == "_index"
        || rel.starts_with("_index/")
        || rel == "_control"
        || rel.starts_with("_control/")
}

/// Content files of lazy hydration: under `data/`, at least 3 segments,
/// basename `raw` (docs/contract.md §5.6).
pub(super) fn is_content(rel: &str) -> bool {
    rel.starts_with("data/") && rel.split('/').count() >= 3 && rel.ends_with("/raw")
}

pub(super) type Tree = BTreeMap<String, Vec<u8>>;

fn read_tree(root: &Path) -> Result<Tree, Status> {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let ty = entry.file_type()?;
            if ty.is_dir() {
                walk(root, &path, out)?;
            } else if ty.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .map_err(std::io::Error::other)?
                    .to_string_lossy()
                    .replace('\\', "/");
                if !is_internal(&rel) {
                    out.insert(rel, std::fs::read(&path)?);
                }
            }
        }
        Ok(())
    }
    let mut out = Tree::new();
    walk(root, root, &mut out).or_fail(&format!("reading the tree at {}", root.display()))?;
    Ok(out)
}

/// Describe how two trees differ, or None when they are identical.
fn tree_diff(expected: &Tree, actual: &Tree) -> Option<String> {
    let mut problems = Vec::new();
    for (rel, bytes) in expected {
        match actual.get(rel) {
            None => problems.push(format!("{rel} missing")),
            Some(b) if b != bytes => problems.push(format!(
                "{rel} differs ({} vs {} bytes)",
                b.len(),
                bytes.len()
            )),
            _ => {}
        }
    }
    for rel in actual.keys().filter(|k| !expected.contains_key(*k)) {
        problems.push(format!("{rel} unexpected"));
    }
    if problems.is_empty() {
        None
    } else {
        let n = problems.len();
        problems.truncate(6);
        Some(format!("{n} difference(s): {}", problems.join(", ")))
    }
}

pub(super) fn same_tree(what: &str, expected: &Tree, actual: &Tree) -> Outcome {
    match tree_diff(expected, actual) {
        None => Ok(()),
        Some(d) => fail!("{what}: {d}"),
    }
}

/// One cache with its sync service.
pub(super) struct Side {
    pub(super) svc: SyncService,
    pub(super) dir: PathBuf,
    pub(super) name: &'static str,
}

impl Side {
    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub(super) fn write(&self, rel: &str, bytes: &[u8]) -> Outcome {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).or_fail("creating a directory in the cache")?;
        }
        std::fs::write(&p, bytes).or_fail(&format!("writing {rel} in cache {}", self.name))
    }

    pub(super) fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(rel)).ok()
    }

    pub(super) fn remove(&self, rel: &str) -> Outcome {
        let p = self.path(rel);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.or_fail(&format!("removing {rel} in cache {}", self.name))
    }

    pub(super) fn tree(&self) -> Result<Tree, Status> {
        read_tree(&self.dir)
    }

    pub(super) async fn mark(&self, rel: &str) -> Outcome {
        self.svc
            .mark_dirty(&SyncOptions::rel_path(rel))
            .await
            .or_fail(&format!("mark-dirty({rel}) on cache {}", self.name))
    }

    pub(super) async fn mark_bulk(&self) -> Outcome {
        self.svc
            .mark_dirty(&SyncOptions::default())
            .await
            .or_fail(&format!("mark-dirty() on cache {}", self.name))
    }

    pub(super) async fn push(&self) -> Result<u32, Status> {
        self.push_with(&SyncOptions::default()).await
    }

    pub(super) async fn push_with(&self, o: &SyncOptions) -> Result<u32, Status> {
        self.svc
            .push_changed(o)
            .await
            .or_fail(&format!("push-changed from cache {}", self.name))
    }

    pub(super) async fn pull(&self) -> Result<u32, Status> {
        self.pull_with(&SyncOptions::default()).await
    }

    pub(super) async fn pull_with(&self, o: &SyncOptions) -> Result<u32, Status> {
        self.svc
            .pull_changed(o)
            .await
            .or_fail(&format!("pull-changed into cache {}", self.name))
    }

    /// Write a file after marking it (what swamp core does).
    pub(super) async fn save(&self, rel: &str, bytes: &[u8]) -> Outcome {
        self.mark(rel).await?;
        self.write(rel, bytes)
    }
}

/// A fixture with one cache (`a`) and a way to open more.
pub(super) struct Env {
    pub(super) f: Fixture,
    pub(super) a: Side,
}

impl Env {
    pub(super) async fn new(cx: &Ctx) -> Result<Self, Status> {
        let f = cx.fixture().await?;
        let (svc, dir) = f.sync("cache-a").await?;
        Ok(Self {
            f,
            a: Side {
                svc,
                dir,
                name: "A",
            },
        })
    }

    pub(super) async fn side(&self, name: &'static str) -> Result<Side, Status> {
        let (svc, dir) = self
            .f
            .sync(&format!("cache-{}", name.to_ascii_lowercase()))
            .await?;
        Ok(Side { svc, dir, name })
    }

    pub(super) async fn caps(&self) -> Result<SyncCapabilities, Status> {
        self.a.svc.capabilities().await.or_fail("capabilities")
    }

    /// Write the base tree into A, push it, pull it into a fresh B.
    pub(super) async fn seeded(cx: &Ctx) -> Result<(Self, Side), Status> {
        let env = Self::new(cx).await?;
        for (rel, bytes) in base_tree() {
            env.a.write(rel, &bytes)?;
        }
        env.a.mark_bulk().await?;
        env.a.push().await?;
        let b = env.side("B").await?;
        b.pull().await?;
        same_tree(
            "after seeding, cache B differs from cache A",
            &env.a.tree()?,
            &b.tree()?,
        )?;
        Ok((env, b))
    }
}

pub(super) fn expect_count(what: &str, got: u32, want: u32) -> Outcome {
    ensure!(got == want, "{what} returned {got}, expected {want}");
    Ok(())
}

pub(super) fn is_kind(e: &HostError, f: fn(&DatastoreError) -> bool) -> bool {
    matches!(e, HostError::Datastore(d) if f(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_files_are_recognised() {
        for f in [
            ".datastore-sync-state.json",
            ".datastore-index.json",
            "data/t/m/.lock",
            "x/y.lock",
            "_index/a",
            "ns/.namespace.json",
            "_catalog.db-wal",
        ] {
            assert!(is_internal(f), "{f}");
        }
        for f in [
            "data/t/m/out/1/raw",
            "workflows/w.yaml",
            "locks.yaml",
            "index/x",
        ] {
            assert!(!is_internal(f), "{f}");
        }
    }

    #[test]
    fn content_files_follow_the_reference_split() {
        assert!(is_content("data/t/m/out/1/raw"));
        assert!(!is_content("data/t/m/out/1/metadata.yaml"));
        assert!(!is_content("models/t/m/raw"));
        assert!(!is_content("data/raw"));
    }

    #[test]
    fn trees_are_compared_byte_for_byte() {
        let a: Tree = [("x".to_string(), vec![1, 2]), ("y".to_string(), vec![])].into();
        let mut b = a.clone();
        assert!(tree_diff(&a, &b).is_none());
        b.insert("x".into(), vec![2, 1]);
        assert!(tree_diff(&a, &b).unwrap().contains("x differs"));
        b.remove("y");
        assert!(tree_diff(&a, &b).unwrap().contains("y missing"));
    }

    #[test]
    fn the_base_tree_is_unique_and_has_binary_and_content() {
        let t = base_tree();
        let names: std::collections::HashSet<_> = t.iter().map(|(r, _)| *r).collect();
        assert_eq!(names.len(), t.len());
        assert!(t.iter().any(|(r, _)| is_content(r)));
        assert!(t.iter().any(|(_, b)| b.iter().any(|c| *c > 127)));
    }
}
