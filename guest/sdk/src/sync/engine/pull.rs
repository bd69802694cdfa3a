//! The pull side: pull-changed and hydrate-file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::remote_index::{KnownMonolith, Layout, Monolith, Need, RemoteState};
use super::transfer::first_failure;
use super::{Deadline, Root, SyncEngine};
use crate::error::{Error, Result};
use crate::rel_path::is_within;
use crate::sync::base::Covered;
use crate::sync::decide::{self, Local, PullAction};
use crate::sync::dirty::DirtyState;
use crate::sync::index::{Index, IndexEntry};
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::RemoteStore;
use crate::sync::rules::{self, ModelScope};
use crate::sync::state::{Sidecar, StateFiles, Synced};
use swamp_datastore_types::SyncOptions;

/// Adopt the journalled file changes of a pull (or hydrate) that did
/// happen. A process killed between changing a file and recording that in
/// the base would otherwise leave a base that disagrees with the file: a
/// download that arrived looks like an unpushed local edit (kept by every
/// later pull, pushed back over newer remote content), a local deletion
/// looks like the user's own (a later re-creation remotely is never pulled,
/// and a push deletes it). A file holding exactly the journalled content
/// arrived; a journalled deletion happened if the file is gone; anything
/// else (not done yet, or edited since) keeps its old base entry.
/// True when the base changed.
pub(super) fn settle_pending(root: &Root, base: &mut Index) -> Result<bool> {
    let pending = std::mem::take(&mut base.pending);
    let changed = !pending.is_empty();
    for (rel, arriving) in pending {
        let path = root.local_path(&rel);
        let here = match local::stat(&path)? {
            LocalKind::File { .. } => Some(local::hash_file(&path)?.0),
            _ => None,
        };
        match (arriving, here) {
            (Some(mut e), Some(sha)) if e.sha256.as_deref() == Some(sha.as_str()) => {
                e.local_mtime = mtime_of(&path);
                base.entries.insert(rel, e);
            }
            (None, None) => {
                base.entries.remove(&rel);
            }
            _ => {}
        }
    }
    Ok(changed)
}

/// True when mark-dirty announced a change that covers `rel`.
fn dirty_covers(d: &DirtyState, rel: &str) -> bool {
    d.bulk_since.is_some() || d.dirty_paths.keys().any(|p| is_within(rel, p))
}

/// The local side of `rel` for a decision. A file not announced as dirty
/// whose size and mtime still equal the base's is taken to hold the base's
/// content without reading it (the mtime has nanosecond precision where the
/// filesystem offers it); anything announced dirty is always hashed.
fn local_state(path: &Path, base: Option<&IndexEntry>, announced: bool) -> Result<Local> {
    match local::stat(path)? {
        LocalKind::File { size, mtime } => {
            if !announced
                && let Some(b) = base
                && let (Some(sha), Some(bm), Some(m)) = (&b.sha256, &b.local_mtime, &mtime)
                && b.size == size
                && bm == m
            {
                return Ok(Local::Present(sha.clone()));
            }
            Ok(Local::Present(local::hash_file(path)?.0))
        }
        _ => Ok(Local::Absent),
    }
}

fn mtime_of(path: &Path) -> Option<String> {
    match local::stat(path) {
        Ok(LocalKind::File { mtime, .. }) => mtime,
        _ => None,
    }
}

/// One part of the tree as a pull reconciles it: the remote index's
/// entries there, the base partitions read for them, which partitions
/// those are, and whether the base already changed (a journal settled).
pub(super) struct Part<'a> {
    pub remote: &'a BTreeMap<String, IndexEntry>,
    pub base: Index,
    pub covered: &'a Covered,
    pub base_changed: bool,
}

impl<R: RemoteStore> SyncEngine<R> {
    /// pull-changed.
    pub(super) fn pull(&mut self, options: &SyncOptions) -> Result<u32> {
        let dl = self.begin(options, "pull");
        let root = self.root(options.namespace.as_deref())?;
        let scope = ModelScope::new(options.models())?;
        // O(1) when the remote index is the one we last reconciled with
        // (unless a metadata-only pull left content to fetch): v2 is one
        // small read of `_meta.json`; v1 reads it too (a migration to v2
        // leaves the monolith stale but unchanged) and HEADs the monolith.
        // Only the small sidecar is read for this: the base index takes
        // time proportional to its entries (0.35 s at 100,000, `make bench`
        // figure e). Its journal of an interrupted pull or hydrate waits for
        // the next pull that has work (push never reads the journal), and a
        // corrupt base is noticed then too.
        let quick = root.files.load_sidecar()?;
        let content_owed = quick.lazy_pull_active && !options.metadata_only;
        // Only the head of the meta is parsed for this, and the meta is
        // not fetched again while it is the one last read: its partition
        // list grows with the index.
        let (head, meta) = self.meta_for_check(&root)?;
        if !content_owed {
            let unchanged = match (quick.synced(), head) {
                (Some(Synced::Sharded(n)), Some(m)) if m.is_v2() => m.commit_seq.unwrap_or(0) == n,
                (Some(Synced::Monolith(fp)), m) if m.is_none_or(|m| !m.is_v2()) => {
                    self.remote.fingerprint(&root.index_key())?.as_ref() == Some(&fp)
                }
                _ => false,
            };
            if unchanged {
                return Ok(0);
            }
        }
        let meta = match meta {
            Some(raw) => raw,
            None => self.read_meta_raw(&root)?,
        };
        let meta = self.parse_meta(&root, meta)?;
        // A whole-tree pull of a v2 index goes a few partitions at a time,
        // so the guest never holds the whole index (`pull_parts.rs`).
        if scope.is_none()
            && root.files.base_is_partitioned()
            && let Some((m, _)) = meta.as_ref().filter(|(m, _)| m.is_v2())
        {
            let meta = m.clone();
            return self.pull_by_parts(&root, options, quick, meta, &dl);
        }
        // So does one of a v1 monolith large enough to be kept on disk.
        let mut read = None;
        if scope.is_none()
            && root.files.base_is_partitioned()
            && meta.as_ref().is_none_or(|(m, _)| !m.is_v2())
        {
            match self.read_monolith(&root)? {
                Some(Monolith::OnDisk(file)) => {
                    return self.pull_monolith_by_parts(&root, options, quick, file, &dl);
                }
                Some(Monolith::Whole(index, fp)) => read = Some((index, fp)),
                // Absent: discovered from a listing by `load_state`.
                None => {}
            }
        }
        let state = match read {
            Some((index, fp)) => RemoteState {
                index,
                layout: Layout::Monolith {
                    fp: Some(fp),
                    meta,
                    disk: None,
                },
            },
            None => {
                let need = match &scope {
                    Some(s) => Need::Paths(s.dirs()),
                    None => Need::All,
                };
                self.load_state(&root, meta, need)?
            }
        };
        // Only the base partitions that may disagree with the remote index
        // are read (`sync::base_summary`): in the others every file has the
        // base's hash and size remotely, which the loop below would skip.
        let (mut base, base_ok, covered) = root.files.load_base_changed(&state.index.entries)?;
        let mut side = quick;
        StateFiles::distrust_unless(&mut side, base_ok);
        let base_changed = settle_pending(&root, &mut base)?;
        let part = Part {
            remote: &state.index.entries,
            base,
            covered: &covered,
            base_changed,
        };
        let (downloaded, errors) =
            self.reconcile(&root, options, scope.as_ref(), &side, part, &dl)?;
        first_failure(errors, "downloads")?;
        let version = state.version();
        // The monolith read is kept for the next push, which then only
        // HEADs it while it is current (`KnownMonolith`).
        if let Layout::Monolith {
            fp: Some(fp), disk, ..
        } = state.layout
        {
            let copy = match disk {
                Some(file) => Monolith::OnDisk(file),
                None => Monolith::Whole(state.index, fp),
            };
            self.known_monolith = KnownMonolith::of(root.index_key(), copy);
        }
        // Only a whole-tree pull reconciles the cache with this index.
        if scope.is_none() {
            let mut side = root.files.load_sidecar()?;
            side.set_synced(version);
            side.lazy_pull_active = options.metadata_only;
            root.files.save_sidecar(&mut side)?;
        }
        Ok(downloaded)
    }

    /// Reconcile one part of the tree with the remote index: decide every
    /// path of `part`, download and delete (journalled first), and write
    /// the base partitions that changed. The download failures are
    /// returned, after what did arrive was recorded.
    pub(super) fn reconcile(
        &mut self,
        root: &Root,
        options: &SyncOptions,
        scope: Option<&ModelScope>,
        side: &Sidecar,
        part: Part<'_>,
        dl: &Deadline,
    ) -> Result<(u32, Vec<Error>)> {
        let Part {
            remote,
            mut base,
            covered,
            mut base_changed,
        } = part;
        let mut rels: BTreeSet<String> = remote
            .keys()
            .filter(|r| covered.holds(r))
            .cloned()
            .collect();
        rels.extend(base.entries.keys().cloned());
        if let Some(s) = scope {
            rels.retain(|r| s.contains(r));
        }

        let mut downloaded = 0u32;
        let mut fetches: Vec<(String, IndexEntry)> = Vec::new();
        let mut deletes: Vec<String> = Vec::new();
        for rel in rels {
            dl.check()?;
            if rules::is_never_synced(&rel) {
                continue;
            }
            let b = base.entries.get(&rel);
            let r = remote.get(&rel);
            // Unchanged remotely since we last reconciled: whatever the
            // local file is now, the decision is to leave it (in sync, or
            // a local change that only a push may send), so neither stat
            // nor hash it. A pull after one remote edit then visits one
            // file, not every file of the cache.
            if let (Some(b), Some(r)) = (b, r)
                && b.sha256.is_some()
                && b.sha256 == r.sha256
                && b.size == r.size
            {
                continue;
            }
            let path = root.local_path(&rel);
            let b = b.cloned();
            let here = local_state(&path, b.as_ref(), dirty_covers(&side.dirty, &rel))?;
            let lazy = options.metadata_only && rules::is_lazy_content(&rel);
            match decide::pull(&here, b.as_ref(), r, lazy) {
                PullAction::Skip | PullAction::KeepLocal => {}
                PullAction::InSync => {
                    if let Some(r) = r {
                        let mut e = r.clone();
                        e.local_mtime = mtime_of(&path);
                        if let Local::Present(sha) = &here {
                            e.sha256 = Some(sha.clone());
                        }
                        if b.as_ref() != Some(&e) {
                            base.entries.insert(rel.clone(), e);
                            base_changed = true;
                        }
                    }
                }
                PullAction::Download => {
                    if let Some(r) = r {
                        fetches.push((rel.clone(), r.clone()));
                    }
                }
                PullAction::EnsureParent => {
                    if let Some(parent) = path.parent() {
                        crate::atomic_file::create_dir_all(parent)?;
                    }
                }
                // Journalled first, with the downloads (below).
                PullAction::DeleteLocal => deletes.push(rel.clone()),
                PullAction::ForgetBase => {
                    base.entries.remove(&rel);
                    base_changed = true;
                }
            }
        }
        // Downloads in batches (the store runs them concurrently), each
        // atomic; what arrived is recorded even when others failed.
        let items: Vec<(String, PathBuf)> = fetches
            .iter()
            .map(|(rel, _)| (root.remote_key(rel), root.local_path(rel)))
            .collect();
        let staged = self.stage_downloads(&items, dl);
        let staged: Vec<_> = fetches
            .into_iter()
            .zip(staged.unwrap_or_else(|e| vec![Err(e)]))
            .map(|((rel, r), res)| {
                // Checked against the index before anything is journalled.
                let res = match res {
                    Ok(Some(st)) => st
                        .verified(
                            r.sha256.as_deref(),
                            &self.remote.describe(&root.remote_key(&rel)),
                        )
                        .map(Some),
                    other => other,
                };
                ((rel, r), res)
            })
            .collect();
        // Journal what is about to arrive or go before touching any file.
        for ((rel, r), res) in &staged {
            if let Ok(Some(st)) = res {
                let mut e = r.clone();
                e.sha256 = Some(st.sha256.clone());
                e.size = st.size;
                base.pending.insert(rel.clone(), Some(e));
            }
        }
        for rel in &deletes {
            base.pending.insert(rel.clone(), None);
        }
        if !base.pending.is_empty() {
            root.files.save_base(&mut base)?;
            base.pending.clear();
            base_changed = true;
        }
        for rel in deletes {
            let path = root.local_path(&rel);
            crate::atomic_file::remove_if_present(&path)?;
            if let Some(parent) = path.parent() {
                local::prune_empty_dirs(&root.local, parent);
            }
            base.entries.remove(&rel);
        }
        let mut errors = Vec::new();
        for ((rel, r), res) in staged {
            match res {
                // An index entry without an object: nothing to fetch.
                Ok(None) => {}
                Ok(Some(st)) => {
                    let path = root.local_path(&rel);
                    let (sha, size) = (st.sha256.clone(), st.size);
                    if let Err(e) = st.install(&path) {
                        errors.push(e);
                        continue;
                    }
                    let mut e = r;
                    e.sha256 = Some(sha);
                    e.size = size;
                    e.local_mtime = mtime_of(&path);
                    base.entries.insert(rel, e);
                    base_changed = true;
                    downloaded += 1;
                }
                Err(e) => errors.push(e),
            }
        }
        if base_changed {
            root.files.save_base(&mut base)?;
        }
        Ok((downloaded, errors))
    }

    /// hydrate-file: fetch one file now, atomically. `false` when the remote
    /// has no such file. A local file with unpushed edits is never replaced.
    pub(super) fn hydrate(&mut self, rel_path: &str, options: &SyncOptions) -> Result<bool> {
        let (root, rel) = self.locate(rel_path, options.namespace.as_deref(), "rel-path")?;
        let Some(rel) = rel else {
            return Err(Error::InvalidArgument(format!(
                "rel-path {rel_path:?} names a namespace, not a file"
            )));
        };
        let rel = rel.as_str().to_string();
        if rules::is_never_synced(&rel) {
            return Err(Error::InvalidArgument(format!(
                "rel-path {rel_path:?} is an internal file that never syncs"
            )));
        }
        let dl = self.begin(options, "hydrate-file");
        dl.check()?;
        let path = root.local_path(&rel);
        let item = [(root.remote_key(&rel), path.clone())];
        let Some(st) = self
            .stage_downloads(&item, &dl)?
            .pop()
            .unwrap_or(Ok(None))?
        else {
            return Ok(false);
        };
        let (_, mut base) = root.files.load()?;
        settle_pending(&root, &mut base)?;
        if let LocalKind::File { .. } = local::stat(&path)? {
            let (here, _) = local::hash_file(&path)?;
            if here == st.sha256 {
                st.discard();
                return Ok(true);
            }
            let unchanged = base
                .entries
                .get(&rel)
                .is_some_and(|b| b.sha256.as_deref() == Some(&here));
            if !unchanged {
                st.discard();
                return Err(Error::Conflict(format!(
                    "{} has local changes that are not pushed yet; it was not overwritten",
                    path.display()
                )));
            }
        }
        let (sha, size) = (st.sha256.clone(), st.size);
        // Journalled first, as in pull.
        base.pending.insert(
            rel.clone(),
            Some(IndexEntry {
                key: rel.clone(),
                size,
                last_modified: String::new(),
                local_mtime: None,
                sha256: Some(sha.clone()),
            }),
        );
        if let Err(e) = root.files.save_base(&mut base) {
            st.discard();
            return Err(e);
        }
        base.pending.clear();
        st.install(&path)?;
        self.record_hydrated(&root, &mut base, &rel, &path, size, sha)?;
        Ok(true)
    }

    fn record_hydrated(
        &self,
        root: &Root,
        base: &mut crate::sync::index::Index,
        rel: &str,
        path: &Path,
        size: u64,
        sha: String,
    ) -> Result<()> {
        // Recorded in the base so a later remote deletion reaches this copy
        // and a push does not mistake it for a new local file.
        base.entries.insert(
            rel.to_string(),
            IndexEntry {
                key: rel.to_string(),
                size,
                last_modified: String::new(),
                local_mtime: mtime_of(path),
                sha256: Some(sha),
            },
        );
        root.files.save_base(base)
    }
}
