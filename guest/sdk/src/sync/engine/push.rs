//! mark-dirty and the push side: plan (what differs), execute (upload and
//! delete), commit (merge into the remote index, then clear dirty state).
//! push-changed runs all three; prepare-push runs the first two and hands
//! the third to commit-push through the manifest; preview-push only plans.

use std::collections::BTreeMap;
use std::fs;

use serde::{Deserialize, Serialize};

use super::{Deadline, Root, SyncEngine};
use crate::error::{Error, Result};
use crate::iso_time;
use crate::sync::decide::{self, Local, PushAction};
use crate::sync::dirty::Walk;
use crate::sync::index::{Index, IndexEntry};
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::{Fingerprint, RemoteStore};
use crate::sync::rules::{self, ModelScope};
use crate::sync::state::Sidecar;
use crate::types::{PushManifest, PushPreview, SyncOptions};

/// What a push found to do.
struct Plan {
    /// Files to upload or delete (never `Skip`).
    items: Vec<(String, PushAction)>,
    /// Recorded dirty paths this push fully covers.
    covered: Vec<String>,
    /// A whole-tree walk (clears a bulk signal).
    full: bool,
    /// Dirty epoch the plan was made at.
    through: u64,
    /// Fingerprint of the remote index the plan was made against.
    pre: Option<Fingerprint>,
}

/// What a push did, and what commit must record. Serialised as the
/// two-phase manifest payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Done {
    /// Always [`MANIFEST_FORMAT`].
    format: String,
    /// The namespace the push ran in.
    namespace: Option<String>,
    /// Uploaded files, with the local mtime recorded for the base.
    uploaded: BTreeMap<String, IndexEntry>,
    /// Remote files deleted.
    deleted: Vec<String>,
    covered: Vec<String>,
    full: bool,
    through: u64,
    pre: Option<Fingerprint>,
}

const MANIFEST_FORMAT: &str = "swamp-wasm-sync/1";

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<R: RemoteStore> SyncEngine<R> {
    /// mark-dirty: record, never act (rule 1); persist only on change.
    pub(super) fn mark(&mut self, options: &SyncOptions) -> Result<()> {
        let ns = options.namespace.as_deref();
        let (root, rel) = match &options.rel_path {
            None => (self.root(ns)?, None),
            Some(r) => self.locate(r, ns, "rel-path")?,
        };
        let mut side = root.files.load_sidecar()?;
        let changed = match rel {
            None => side.dirty.mark_bulk(),
            // Internal files never sync: nothing to record.
            Some(p) if rules::is_never_synced(p.as_str()) => false,
            Some(p) => side.dirty.mark_path(p.as_str()),
        };
        if changed {
            root.files.save_sidecar(&mut side)?;
        }
        Ok(())
    }

    /// push-changed.
    pub(super) fn push(&mut self, options: &SyncOptions) -> Result<u32> {
        let dl = Deadline::new(options, "push");
        let root = self.root(options.namespace.as_deref())?;
        let scope = ModelScope::new(options.models())?;
        let (side, base) = root.files.load()?;
        let Some(plan) = self.plan(&root, &side, &base, scope.as_ref(), &dl)? else {
            return Ok(0); // clean: no remote call at all
        };
        let done = self.execute(&root, plan, &dl)?;
        self.commit(&root, &done)
    }

    /// prepare-push: upload and delete, leave index and dirty state alone.
    pub(super) fn prepare(&mut self, options: &SyncOptions) -> Result<PushManifest> {
        let dl = Deadline::new(options, "prepare-push");
        let root = self.root(options.namespace.as_deref())?;
        let scope = ModelScope::new(options.models())?;
        let (mut side, base) = root.files.load()?;
        let done = match self.plan(&root, &side, &base, scope.as_ref(), &dl)? {
            None => Done {
                format: MANIFEST_FORMAT.into(),
                namespace: root.ns.clone(),
                ..Done::default()
            },
            Some(plan) => {
                let done = self.execute(&root, plan, &dl)?;
                // Marks from now on must survive this manifest's commit.
                side.dirty.begin_prepare();
                root.files.save_sidecar(&mut side)?;
                done
            }
        };
        Ok(PushManifest {
            pushed: count(done.uploaded.len()),
            deleted: count(done.deleted.len()),
            payload: serde_json::to_string(&done).unwrap_or_default(),
        })
    }

    /// commit-push: merge a prepared manifest into the current index.
    pub(super) fn commit_manifest(
        &mut self,
        manifest: &PushManifest,
        options: &SyncOptions,
    ) -> Result<u32> {
        let done: Done = serde_json::from_str(&manifest.payload)
            .ok()
            .filter(|d: &Done| d.format == MANIFEST_FORMAT)
            .ok_or_else(|| {
                Error::InvalidArgument(
                    "unknown push manifest: it was not made by this datastore's prepare-push"
                        .into(),
                )
            })?;
        let root = self.root(options.namespace.as_deref())?;
        if done.namespace != root.ns {
            return Err(Error::InvalidArgument(format!(
                "push manifest was prepared for namespace {:?} but commit-push was called for {:?}",
                done.namespace, root.ns
            )));
        }
        self.commit(&root, &done)
    }

    /// preview-push: the plan's counts, nothing changed.
    pub(super) fn preview(&mut self, options: &SyncOptions) -> Result<PushPreview> {
        let dl = Deadline::new(options, "preview-push");
        let root = self.root(options.namespace.as_deref())?;
        let scope = ModelScope::new(options.models())?;
        let (side, base) = root.files.load()?;
        let mut p = PushPreview::default();
        if let Some(plan) = self.plan(&root, &side, &base, scope.as_ref(), &dl)? {
            for (_, a) in &plan.items {
                match a {
                    PushAction::UploadNew => p.new += 1,
                    PushAction::UploadChanged => p.changed += 1,
                    PushAction::Delete => p.deleted += 1,
                    PushAction::Skip => {}
                }
            }
        }
        p.total = p.new + p.changed + p.deleted;
        Ok(p)
    }

    /// Find what differs. `None` when nothing is dirty (the O(1) path).
    fn plan(
        &mut self,
        root: &Root,
        side: &Sidecar,
        base: &Index,
        scope: Option<&ModelScope>,
        dl: &Deadline,
    ) -> Result<Option<Plan>> {
        let walk = side.dirty.walk();
        let (full, mut paths) = match walk {
            Walk::Clean => return Ok(None),
            Walk::Full => (true, side.dirty.recorded_paths()),
            Walk::Paths(p) => (false, p),
        };
        // In the solo tree, paths inside a namespace's subtree are not ours.
        paths.retain(|p| {
            let first = p.split('/').next().unwrap_or(p);
            !root.skip_dir(first, &root.local.join(first))
        });
        let (remote_idx, pre) = self.load_remote_index(root)?;

        // Candidate files, with "explicitly deleted" (rule 2) flags.
        let mut cands: BTreeMap<String, bool> = BTreeMap::new();
        if full {
            for rel in local::walk(&root.local, "", &|r, p| root.skip_dir(r, p))? {
                cands.insert(rel, false);
            }
            for rel in base.entries.keys() {
                cands.entry(rel.clone()).or_insert(false);
            }
        }
        for p in &paths {
            dl.check()?;
            match local::stat(&root.local_path(p))? {
                LocalKind::File { .. } => {
                    cands.entry(p.clone()).or_insert(false);
                }
                LocalKind::Dir => {
                    for rel in local::walk(&root.local, p, &|r, d| root.skip_dir(r, d))? {
                        cands.entry(rel).or_insert(false);
                    }
                    for e in base.under(p).chain(remote_idx.under(p)) {
                        cands.entry(e.key.clone()).or_insert(false);
                    }
                }
                LocalKind::Absent => {
                    for e in remote_idx.under(p) {
                        cands.insert(e.key.clone(), true);
                    }
                    for e in base.under(p) {
                        cands.entry(e.key.clone()).or_insert(false);
                    }
                }
            }
        }
        if let Some(s) = scope {
            cands.retain(|rel, _| s.contains(rel));
            paths.retain(|p| s.covers(p));
        }

        let mut items = Vec::new();
        for (rel, explicit) in cands {
            dl.check()?;
            if rules::is_never_synced(&rel) {
                continue;
            }
            let path = root.local_path(&rel);
            let here = match local::stat(&path)? {
                LocalKind::File { .. } => Local::Present(local::hash_file(&path)?.0),
                _ => Local::Absent,
            };
            let action = decide::push(
                &here,
                base.entries.get(&rel),
                remote_idx.entries.get(&rel),
                explicit,
            );
            if action != PushAction::Skip {
                items.push((rel, action));
            }
        }
        Ok(Some(Plan {
            items,
            covered: paths,
            full: full && scope.is_none(),
            through: side.dirty.epoch,
            pre,
        }))
    }

    /// Upload and delete what the plan found.
    fn execute(&mut self, root: &Root, plan: Plan, dl: &Deadline) -> Result<Done> {
        let mut done = Done {
            format: MANIFEST_FORMAT.into(),
            namespace: root.ns.clone(),
            covered: plan.covered,
            full: plan.full,
            through: plan.through,
            pre: plan.pre,
            ..Done::default()
        };
        for (rel, action) in plan.items {
            dl.check()?;
            let key = root.remote_key(&rel);
            if action == PushAction::Delete {
                self.remote.delete(&key)?;
                done.deleted.push(rel);
                continue;
            }
            let path = root.local_path(&rel);
            let bytes = fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::Conflict(format!(
                    "{} was removed while the push ran; push again",
                    path.display()
                )),
                _ => Error::io(path.display(), e),
            })?;
            self.remote.put(&key, &bytes)?;
            let mtime = match local::stat(&path)? {
                LocalKind::File { mtime, .. } => mtime,
                _ => None,
            };
            done.uploaded.insert(
                rel.clone(),
                IndexEntry {
                    key: rel,
                    size: bytes.len() as u64,
                    last_modified: iso_time::now_millis(),
                    local_mtime: mtime,
                    sha256: Some(local::sha256_hex(&bytes)),
                },
            );
        }
        Ok(done)
    }

    /// Record a push: remote index (CAS merge), base, then dirty state —
    /// in that order, so a crash in between only causes a re-check.
    fn commit(&mut self, root: &Root, done: &Done) -> Result<u32> {
        let changed = done.uploaded.len() + done.deleted.len();
        let merged = if changed > 0 {
            Some(self.merge_remote_index(root, &done.uploaded, &done.deleted, done.pre.as_ref())?)
        } else {
            None
        };
        let (mut side, mut base) = root.files.load()?;
        if changed > 0 {
            for (rel, e) in &done.uploaded {
                base.entries.insert(rel.clone(), e.clone());
            }
            for rel in &done.deleted {
                base.entries.remove(rel);
            }
            root.files.save_base(&mut base)?;
        }
        side.dirty
            .clear_through(done.through, &done.covered, done.full);
        if let Some((fp, unchanged_before)) = merged {
            // Still reconciled only if nobody else wrote since our last sync.
            if unchanged_before && side.remote_index_fingerprint == done.pre {
                side.remote_index_fingerprint = Some(fp);
            }
        }
        root.files.save_sidecar(&mut side)?;
        Ok(count(changed))
    }
}
