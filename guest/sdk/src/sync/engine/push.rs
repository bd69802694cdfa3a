//! mark-dirty and the push side: plan (what differs), execute (upload and
//! delete), commit (merge into the remote index, then clear dirty state).
//! push-changed runs all three; prepare-push runs the first two and hands
//! the third to commit-push through the manifest; preview-push only plans.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::remote_index::{Need, RemoteState};
use super::{Deadline, Root, SyncEngine};
use crate::error::{Error, Result};
use crate::iso_time;
use crate::sync::decide::{self, Local, PushAction};
use crate::sync::dirty::Walk;
use crate::sync::index::{Index, IndexEntry};
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::RemoteStore;
use crate::sync::rules::{self, ModelScope};
use crate::sync::state::{Sidecar, Synced};
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
    /// The remote index the plan was made against (`None`: nothing in
    /// the plan needed it, and no remote request was made).
    state: Option<RemoteState>,
    /// Local files to upload: size and mtime before hashing, and the hash.
    sigs: BTreeMap<String, Sig>,
}

/// A local file as planned: stat before hashing, and the hash.
#[derive(Debug, Clone)]
struct Sig {
    size: u64,
    mtime: Option<String>,
    sha256: String,
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
    /// The remote index version the push was planned against.
    pre: Option<Synced>,
}

const MANIFEST_FORMAT: &str = "swamp-wasm-sync/2";

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
        let dl = self.begin(options, "push");
        let root = self.root(options.namespace.as_deref())?;
        let scope = ModelScope::new(options.models())?;
        let (side, base) = root.files.load()?;
        let Some(plan) = self.plan(&root, &side, &base, scope.as_ref(), &dl)? else {
            return Ok(0); // clean: no remote call at all
        };
        let (done, state) = self.execute(&root, plan, &dl)?;
        self.commit(&root, &done, state)
    }

    /// prepare-push: upload and delete, leave index and dirty state alone.
    pub(super) fn prepare(&mut self, options: &SyncOptions) -> Result<PushManifest> {
        let dl = self.begin(options, "prepare-push");
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
                let (done, _) = self.execute(&root, plan, &dl)?;
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
        self.commit(&root, &done, None)
    }

    /// preview-push: the plan's counts, nothing changed.
    pub(super) fn preview(&mut self, options: &SyncOptions) -> Result<PushPreview> {
        let dl = self.begin(options, "preview-push");
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
    /// The remote index is read only when some decision depends on it, and
    /// then only the part that does (v2: the shards of those paths).
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

        // Candidate files from the local side and the base; recorded paths
        // that are gone (rule 2: their remote subtree is deleted).
        let mut cands: BTreeSet<String> = BTreeSet::new();
        let mut gone: Vec<String> = Vec::new();
        if full {
            cands.extend(local::walk(&root.local, "", &|r, p| root.skip_dir(r, p))?);
            cands.extend(base.entries.keys().cloned());
        }
        for p in &paths {
            dl.check()?;
            match local::stat(&root.local_path(p))? {
                LocalKind::File { .. } => {
                    cands.insert(p.clone());
                }
                LocalKind::Dir => {
                    cands.extend(local::walk(&root.local, p, &|r, d| root.skip_dir(r, d))?);
                    cands.extend(base.under(p).map(|e| e.key.clone()));
                }
                LocalKind::Absent => {
                    gone.push(p.clone());
                    cands.extend(base.under(p).map(|e| e.key.clone()));
                }
            }
        }
        if let Some(s) = scope {
            cands.retain(|rel| s.contains(rel));
            paths.retain(|p| s.covers(p));
            gone.retain(|p| s.covers(p));
        }

        // Local states; which decisions need the remote entry.
        let mut locals: BTreeMap<String, Local> = BTreeMap::new();
        let mut sigs: BTreeMap<String, Sig> = BTreeMap::new();
        let mut needs: Vec<String> = gone.clone();
        for rel in cands {
            dl.check()?;
            if rules::is_never_synced(&rel) {
                continue;
            }
            let path = root.local_path(&rel);
            let here = match local::stat(&path)? {
                LocalKind::File { size, mtime } => {
                    let (sha, _) = local::hash_file(&path)?;
                    sigs.insert(
                        rel.clone(),
                        Sig {
                            size,
                            mtime,
                            sha256: sha.clone(),
                        },
                    );
                    Local::Present(sha)
                }
                _ => Local::Absent,
            };
            let b = base.entries.get(&rel);
            let settled = match &here {
                // Not edited here: skipped whatever the remote says.
                Local::Present(sha) => b.is_some_and(|b| b.sha256.as_deref() == Some(sha)),
                // Never had it: only an explicit deletion (below) acts.
                Local::Absent => b.is_none(),
            };
            if !settled {
                needs.push(rel.clone());
                locals.insert(rel, here);
            }
        }
        if needs.is_empty() {
            return Ok(Some(Plan {
                items: Vec::new(),
                covered: paths,
                full: full && scope.is_none(),
                through: side.dirty.epoch,
                state: None,
                sigs: BTreeMap::new(),
            }));
        }

        let meta = self.read_meta(root)?;
        let need = if full { Need::All } else { Need::Paths(&needs) };
        let state = self.load_state(root, meta, need)?;
        let remote_idx = &state.index;
        let mut explicit: BTreeSet<String> = BTreeSet::new();
        for p in &gone {
            for e in remote_idx.under(p) {
                if scope.is_none_or(|s| s.contains(&e.key)) && !rules::is_never_synced(&e.key) {
                    explicit.insert(e.key.clone());
                    locals.entry(e.key.clone()).or_insert(Local::Absent);
                }
            }
        }
        let mut items = Vec::new();
        for (rel, here) in locals {
            let action = decide::push(
                &here,
                base.entries.get(&rel),
                remote_idx.entries.get(&rel),
                explicit.contains(&rel),
            );
            if action != PushAction::Skip {
                items.push((rel, action));
            }
        }
        sigs.retain(|rel, _| {
            items
                .iter()
                .any(|(r, a)| r == rel && *a != PushAction::Delete)
        });
        Ok(Some(Plan {
            items,
            covered: paths,
            full: full && scope.is_none(),
            through: side.dirty.epoch,
            state: Some(state),
            sigs,
        }))
    }

    /// Upload and delete what the plan found, in batches.
    fn execute(
        &mut self,
        root: &Root,
        plan: Plan,
        dl: &Deadline,
    ) -> Result<(Done, Option<RemoteState>)> {
        let mut done = Done {
            format: MANIFEST_FORMAT.into(),
            namespace: root.ns.clone(),
            covered: plan.covered,
            full: plan.full,
            through: plan.through,
            pre: plan.state.as_ref().and_then(RemoteState::version),
            ..Done::default()
        };
        let mut uploads = Vec::new();
        let mut deletes = Vec::new();
        for (rel, action) in &plan.items {
            if *action == PushAction::Delete {
                deletes.push(rel.clone());
            } else {
                uploads.push((root.remote_key(rel), root.local_path(rel)));
            }
        }
        self.upload_all(&uploads, dl)?;
        for (rel, action) in plan.items {
            if action == PushAction::Delete {
                continue;
            }
            let path = root.local_path(&rel);
            let Some(sig) = plan.sigs.get(&rel) else {
                continue;
            };
            // The hash was taken before the upload: it describes what was
            // sent only if the file did not change meanwhile.
            match local::stat(&path)? {
                LocalKind::File { size, mtime } if size == sig.size && mtime == sig.mtime => {}
                _ => {
                    return Err(Error::Conflict(format!(
                        "{} changed while the push ran; it stays dirty, push again",
                        path.display()
                    )));
                }
            }
            done.uploaded.insert(
                rel.clone(),
                IndexEntry {
                    key: rel,
                    size: sig.size,
                    last_modified: iso_time::now_millis(),
                    local_mtime: sig.mtime.clone(),
                    sha256: Some(sig.sha256.clone()),
                },
            );
        }
        let keys: Vec<String> = deletes.iter().map(|r| root.remote_key(r)).collect();
        self.delete_all(&keys, dl)?;
        done.deleted = deletes;
        Ok((done, plan.state))
    }

    /// Record a push: remote index (CAS merge), base, then dirty state —
    /// in that order, so a crash in between only causes a re-check.
    /// `planned`: the remote state the push was planned against, reused as
    /// the first compare-and-swap attempt.
    fn commit(&mut self, root: &Root, done: &Done, planned: Option<RemoteState>) -> Result<u32> {
        let changed = done.uploaded.len() + done.deleted.len();
        let committed = if changed > 0 {
            Some(self.commit_remote(root, planned, &done.uploaded, &done.deleted)?)
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
        if let Some(c) = committed {
            // Still reconciled only if nobody else wrote since our last sync.
            if c.replaced == done.pre && side.synced() == done.pre {
                side.set_synced(Some(c.new));
            }
        }
        root.files.save_sidecar(&mut side)?;
        Ok(count(changed))
    }
}
