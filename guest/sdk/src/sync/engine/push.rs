//! mark-dirty and the push side: plan (what differs) and execute (upload
//! and delete) — in `plan.rs` — then commit (merge into the remote index,
//! then clear dirty state). push-changed runs all three; prepare-push runs
//! the first two and hands the third to commit-push through the manifest;
//! preview-push only plans.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::remote_index::RemoteState;
use super::transfer::with_note;
use super::{Deadline, Root, SyncEngine};
use crate::error::{Error, Result};
use crate::sync::decide::PushAction;
use crate::sync::dirty::Walk;
use crate::sync::index::{Index, IndexEntry};
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::RemoteStore;
use crate::sync::rules;
use crate::sync::state::{StateFiles, Synced};
use swamp_datastore_types::{PushManifest, PushPreview, SyncOptions};

/// What a push did, and what commit must record. Serialised as the
/// two-phase manifest payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Done {
    /// Always [`MANIFEST_FORMAT`].
    pub(super) format: String,
    /// The namespace the push ran in.
    pub(super) namespace: Option<String>,
    /// Uploaded files, with the local mtime recorded for the base.
    pub(super) uploaded: BTreeMap<String, IndexEntry>,
    /// Remote files deleted.
    pub(super) deleted: Vec<String>,
    pub(super) covered: Vec<String>,
    pub(super) full: bool,
    pub(super) through: u64,
    /// The remote index version the push was planned against.
    pub(super) pre: Option<Synced>,
    /// The plan walked the whole tree and found it will agree with the
    /// index this push commits (so that index's version may be recorded
    /// even when the cache's history was unknown).
    #[serde(default)]
    pub(super) agrees: bool,
    /// Base entries to rewrite with the commit (see `Plan::rebase`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) rebase: BTreeMap<String, IndexEntry>,
}

pub(super) const MANIFEST_FORMAT: &str = "swamp-wasm-sync/2";

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<R: RemoteStore> SyncEngine<R> {
    /// mark-dirty: record, never act (markDirty rule 1, docs/contract.md
    /// §4.2); persist only on change.
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
        // Zero-diff fast path: with nothing announced dirty there is nothing
        // to plan, so the base index (read and parsed in time proportional
        // to its entries: 0.8 s for 100,000 in `make bench`, figure e) is not
        // loaded at all. A corrupt base, which `load` turns into a full walk,
        // is then noticed by the first push that has something to plan.
        if root.files.load_sidecar()?.dirty.walk() == Walk::Clean {
            return Ok(0); // clean: no remote call at all
        }
        let mut side = root.files.load_sidecar()?;
        // After a bulk mark, the walk goes a part of the tree at a time and
        // only the base entries of what it acts on are kept
        // (`plan_walk.rs`), unless it must prove the whole tree agrees with
        // the index (history from the original's sidecar).
        if side.dirty.walk() == Walk::Full
            && !side.verify_on_push
            && root.files.base_is_partitioned()
        {
            let mut paths = side.dirty.recorded_paths();
            paths.retain(|p| super::plan::ours(&root, p));
            let (plan, ok) = self.plan_walk_by_parts(&root, &side, paths, &dl)?;
            let rels: Vec<String> = plan.items.iter().map(|(r, _)| r.clone()).collect();
            let (base, base_ok) = root.files.load_base_for_files(&rels)?;
            let (done, state) = self.execute(&root, plan, &dl)?;
            return self.commit(&root, &done, state, Some((base, ok && base_ok)), &dl);
        }
        // After marks of a few paths, only their part of the base is read
        // (and written back): the push then costs what those paths cost,
        // whatever the size of the index (`make bench`, figure f).
        let (base, ok) = match side.dirty.walk() {
            Walk::Paths(paths) if !side.verify_on_push => {
                // A marked path that is a file needs only its own base
                // entry, found without listing the base's partitions.
                let is_file = |p: &String| {
                    matches!(local::stat(&root.local_path(p)), Ok(LocalKind::File { .. }))
                };
                if paths.iter().all(is_file) {
                    root.files.load_base_for_files(&paths)?
                } else {
                    root.files.load_base_for(&paths)?
                }
            }
            _ => root.files.load_base()?,
        };
        StateFiles::distrust_unless(&mut side, ok);
        let Some(plan) = self.plan(&root, &side, &base, &dl)? else {
            return Ok(0); // clean: no remote call at all
        };
        let (done, state) = self.execute(&root, plan, &dl)?;
        self.commit(&root, &done, state, Some((base, ok)), &dl)
    }

    /// prepare-push: upload, leave index, deletions and dirty state alone
    /// (remote deletions happen in commit-push, after the index commit).
    pub(super) fn prepare(&mut self, options: &SyncOptions) -> Result<PushManifest> {
        let dl = self.begin(options, "prepare-push");
        let root = self.root(options.namespace.as_deref())?;
        let (mut side, base) = root.files.load()?;
        let done = match self.plan(&root, &side, &base, &dl)? {
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
        let dl = self.begin(options, "commit-push");
        let root = self.root(options.namespace.as_deref())?;
        if done.namespace != root.ns {
            return Err(Error::InvalidArgument(format!(
                "push manifest was prepared for namespace {:?} but commit-push was called for {:?}",
                done.namespace, root.ns
            )));
        }
        self.commit(&root, &done, None, None, &dl)
    }

    /// preview-push: the plan's counts, nothing changed.
    pub(super) fn preview(&mut self, options: &SyncOptions) -> Result<PushPreview> {
        let dl = self.begin(options, "preview-push");
        let root = self.root(options.namespace.as_deref())?;
        let (side, base) = root.files.load()?;
        let mut p = PushPreview::default();
        if let Some(plan) = self.plan(&root, &side, &base, &dl)? {
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

    /// Record a push: base made neutral, remote index (CAS merge), base,
    /// dirty state, then remote deletions — in that order, so a process
    /// killed anywhere in between leaves nothing a later sync misreads
    /// (the crash scenario in `reliability/` kills it at random points):
    ///
    /// * the base first forgets what this push changes ([`forget_changed`]):
    ///   killed after the index commit, a stale base would otherwise claim
    ///   the old content, and a file later re-created with that content
    ///   would count as unchanged and never be pushed;
    /// * objects are deleted only after the index stopped listing them:
    ///   killed in between, the store keeps unlisted objects, never an
    ///   index entry without its object.
    ///
    /// `planned`: the remote state the push was planned against, reused as
    /// the first compare-and-swap attempt. `loaded`: the base as the plan
    /// read it, when this call read it (push-changed); otherwise (a
    /// manifest committed later) it is read here. The base is read at most
    /// once per push: parsing it is what grows with the index (`make
    /// bench`, figure f), and within one call nothing else writes it.
    fn commit(
        &mut self,
        root: &Root,
        done: &Done,
        planned: Option<RemoteState>,
        loaded: Option<(Index, bool)>,
        dl: &Deadline,
    ) -> Result<u32> {
        let changed = done.uploaded.len() + done.deleted.len();
        // The base and whether it was sound when read (what
        // `StateFiles::load` tells the sidecar); read here if not given.
        let mut base = loaded;
        let committed = if changed > 0 {
            let (b, ok) = match base.as_mut() {
                Some(read) => read,
                None => base.insert(root.files.load_base()?),
            };
            if forget_changed(b, done) {
                root.files.save_base(b)?;
                *ok = true;
            }
            Some(self.commit_remote(root, planned, &done.uploaded, &done.deleted)?)
        } else {
            None
        };
        // Read again for marks made meanwhile.
        let mut side = root.files.load_sidecar()?;
        let (mut base, ok) = match base {
            Some(read) => read,
            None => root.files.load_base()?,
        };
        StateFiles::distrust_unless(&mut side, ok);
        if changed > 0 {
            for (rel, e) in &done.uploaded {
                base.entries.insert(rel.clone(), e.clone());
            }
            for rel in &done.deleted {
                base.entries.remove(rel);
            }
            for (rel, e) in &done.rebase {
                base.entries.insert(rel.clone(), e.clone());
            }
            root.files.save_base(&mut base)?;
        }
        side.dirty
            .clear_through(done.through, &done.covered, done.full);
        if let Some(c) = committed {
            // Reconciled with the new index if nobody else wrote since the
            // plan, and the cache was reconciled with the planned index (or
            // the plan checked every file against it).
            let reconciled = side.synced() == done.pre || done.agrees;
            if c.replaced == done.pre && reconciled {
                side.set_synced(Some(c.new));
            }
        }
        if done.full {
            side.verify_on_push = false;
        }
        root.files.save_sidecar(&mut side)?;
        let keys: Vec<String> = done.deleted.iter().map(|r| root.remote_key(r)).collect();
        self.delete_all(&keys, dl).map_err(|e| {
            with_note(
                e,
                " (the index no longer lists these files; their objects are unreachable leftovers)",
            )
        })?;
        Ok(count(changed))
    }
}

/// Make the base neutral about what `done` changes, before the index
/// commit: uploaded files lose their base entry (history unknown: the next
/// sync compares local and remote content directly), deleted ones keep
/// size and time but lose their hash (a deletion not yet committed is still
/// recognised by `same_content`, and a file re-created with the old content
/// no longer counts as unchanged). True when the base changed.
fn forget_changed(base: &mut Index, done: &Done) -> bool {
    let mut changed = false;
    for rel in done.uploaded.keys() {
        changed |= base.entries.remove(rel).is_some();
    }
    for rel in &done.deleted {
        if let Some(e) = base.entries.get_mut(rel)
            && e.sha256.take().is_some()
        {
            changed = true;
        }
    }
    changed
}
