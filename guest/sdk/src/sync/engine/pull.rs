//! The pull side: pull-changed and hydrate-file.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::{Deadline, Root, SyncEngine};
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::rel_path::is_within;
use crate::sync::decide::{self, Local, PullAction};
use crate::sync::dirty::DirtyState;
use crate::sync::index::IndexEntry;
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::RemoteStore;
use crate::sync::rules::{self, ModelScope};
use crate::types::SyncOptions;

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

impl<R: RemoteStore> SyncEngine<R> {
    /// pull-changed.
    pub(super) fn pull(&mut self, options: &SyncOptions) -> Result<u32> {
        let dl = Deadline::new(options, "pull");
        let root = self.root(options.namespace.as_deref())?;
        let scope = ModelScope::new(options.models())?;
        let (side, mut base) = root.files.load()?;

        // O(1) when the remote index is the one we last reconciled with
        // (unless a metadata-only pull left content to fetch).
        let content_owed = side.lazy_pull_active && !options.metadata_only;
        if let Some(fp) = &side.remote_index_fingerprint
            && !content_owed
            && self.remote.fingerprint(&root.index_key())?.as_ref() == Some(fp)
        {
            return Ok(0);
        }

        let (remote_idx, fp) = self.load_remote_index(&root)?;
        let mut rels: BTreeSet<String> = remote_idx.entries.keys().cloned().collect();
        rels.extend(base.entries.keys().cloned());
        if let Some(s) = &scope {
            rels.retain(|r| s.contains(r));
        }

        let mut downloaded = 0u32;
        let mut base_changed = false;
        for rel in rels {
            dl.check()?;
            if rules::is_never_synced(&rel) {
                continue;
            }
            let path = root.local_path(&rel);
            let b = base.entries.get(&rel).cloned();
            let r = remote_idx.entries.get(&rel);
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
                    let Some(r) = r else { continue };
                    let Some(bytes) = self.remote.get(&root.remote_key(&rel))? else {
                        continue; // index entry without an object: nothing to fetch
                    };
                    atomic_file::write_atomic(&path, &bytes)?;
                    let mut e = r.clone();
                    e.sha256 = Some(local::sha256_hex(&bytes));
                    e.size = bytes.len() as u64;
                    e.local_mtime = mtime_of(&path);
                    base.entries.insert(rel.clone(), e);
                    base_changed = true;
                    downloaded += 1;
                }
                PullAction::EnsureParent => {
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
                    }
                }
                PullAction::DeleteLocal => {
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(path.display(), e)),
                    }
                    if let Some(parent) = path.parent() {
                        local::prune_empty_dirs(&root.local, parent);
                    }
                    base.entries.remove(&rel);
                    base_changed = true;
                }
                PullAction::ForgetBase => {
                    base.entries.remove(&rel);
                    base_changed = true;
                }
            }
        }
        if base_changed {
            root.files.save_base(&mut base)?;
        }
        // Only a whole-tree pull reconciles the cache with this index.
        if scope.is_none() {
            let mut side = root.files.load_sidecar()?;
            side.remote_index_fingerprint = fp;
            side.lazy_pull_active = options.metadata_only;
            root.files.save_sidecar(&mut side)?;
        }
        Ok(downloaded)
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
        Deadline::new(options, "hydrate-file").check()?;
        let Some(bytes) = self.remote.get(&root.remote_key(&rel))? else {
            return Ok(false);
        };
        let sha = local::sha256_hex(&bytes);
        let path = root.local_path(&rel);
        let (_, mut base) = root.files.load()?;
        if let LocalKind::File { .. } = local::stat(&path)? {
            let (here, _) = local::hash_file(&path)?;
            if here == sha {
                return Ok(true);
            }
            let unchanged = base
                .entries
                .get(&rel)
                .is_some_and(|b| b.sha256.as_deref() == Some(&here));
            if !unchanged {
                return Err(Error::Conflict(format!(
                    "{} has local changes that are not pushed yet; it was not overwritten",
                    path.display()
                )));
            }
        }
        atomic_file::write_atomic(&path, &bytes)?;
        self.record_hydrated(&root, &mut base, &rel, &path, bytes.len() as u64, sha)?;
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
