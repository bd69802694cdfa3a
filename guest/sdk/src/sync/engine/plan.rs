//! Planning a push (which files differ, reading the remote index only
//! where a decision depends on it) and executing it (batched uploads and
//! deletions).

use std::collections::{BTreeMap, BTreeSet};

use super::push::{Done, MANIFEST_FORMAT};
use super::remote_index::{Need, RemoteState};
use super::{Deadline, Root, SyncEngine};
use crate::error::{Error, Result};
use crate::iso_time;
use crate::sync::decide::{self, Local, PushAction};
use crate::sync::dirty::Walk;
use crate::sync::index::{Index, IndexEntry};
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::RemoteStore;
use crate::sync::rules;
use crate::sync::state::Sidecar;

/// What a push found to do.
pub(super) struct Plan {
    /// Files to upload or delete (never `Skip`).
    pub(super) items: Vec<(String, PushAction)>,
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
    /// A whole-tree walk found that once the plan is committed, every file
    /// of the tree equals its entry in the index and the index lists no
    /// other file (see [`agrees_after`]).
    agrees: bool,
    /// Base entries to rewrite when `agrees`: files equal on both sides
    /// whose base entry says otherwise or lacks the local mtime (a base the
    /// original client wrote).
    rebase: BTreeMap<String, IndexEntry>,
}

/// What a walk gathered for the decisions of a push: the files it saw
/// that a decision depends on, and the recorded paths that are gone.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    /// Local files to upload or compare: stat, and hash where taken.
    pub(super) sigs: BTreeMap<String, Sig>,
    /// Paths whose decision needs the remote index.
    pub(super) needs: Vec<String>,
    /// Files neither side has recorded: hashed only if the remote index
    /// turns out to list them (see `Sig::sha256`).
    pub(super) unhashed: Vec<String>,
    /// Local state of the files whose base entry does not settle them.
    pub(super) locals: BTreeMap<String, Local>,
    /// Recorded paths that are gone (markDirty rule 2: their remote
    /// subtree is deleted).
    pub(super) gone: Vec<String>,
}

impl Gathered {
    /// A local file the base does not list.
    pub(super) fn new_file(&mut self, rel: String, size: u64, mtime: Option<String>) {
        self.sigs.insert(
            rel.clone(),
            Sig {
                size,
                mtime,
                sha256: None,
            },
        );
        self.needs.push(rel.clone());
        self.unhashed.push(rel);
    }
}

/// False for a path that lies in a namespace's subtree of the solo tree
/// (not this root's to push).
pub(super) fn ours(root: &Root, p: &str) -> bool {
    let first = p.split('/').next().unwrap_or(p);
    !root.skip_dir(first, &root.local.join(first))
}

/// What the walk of a plan covered: the whole tree or not, the recorded
/// dirty paths it covers, and the dirty epoch it was made at.
pub(super) struct Walked {
    pub(super) full: bool,
    pub(super) paths: Vec<String>,
    pub(super) through: u64,
}

/// True when the local state `here` needs no decision given base entry
/// `b`: not edited here (skipped whatever the remote says), or never had
/// (only an explicit deletion acts).
pub(super) fn settled(here: &Local, b: Option<&IndexEntry>) -> bool {
    match here {
        Local::Present(sha) => b.is_some_and(|b| b.sha256.as_deref() == Some(sha)),
        Local::Absent => b.is_none(),
    }
}

/// A local file as planned: stat before hashing, and the hash.
#[derive(Debug, Clone)]
pub(super) struct Sig {
    pub(super) size: u64,
    pub(super) mtime: Option<String>,
    /// `None`: not hashed, because no decision needed it (neither the base
    /// nor the remote index lists the file, so it is uploaded as new);
    /// the upload hashes the bytes as it sends them.
    pub(super) sha256: Option<String>,
}

impl<R: RemoteStore> SyncEngine<R> {
    /// Find what differs. `None` when nothing is dirty (the O(1) path).
    /// The remote index is read only when some decision depends on it, and
    /// then only the part that does (v2: the shards of those paths).
    ///
    /// A push has no scope: it uploads every path marked dirty (and, after
    /// a bulk mark, everything a full walk finds), whatever `context.models`
    /// says. swamp names the model it ran, but writes that run's files
    /// outside the model's folders too (outputs by method name, evaluated
    /// definitions by model name, `workflow-runs/`), so filtering by model
    /// would leave them unpushed. The context narrows pulls only.
    pub(super) fn plan(
        &mut self,
        root: &Root,
        side: &Sidecar,
        base: &Index,
        dl: &Deadline,
    ) -> Result<Option<Plan>> {
        let walk = side.dirty.walk();
        let (full, mut paths) = match walk {
            Walk::Clean => return Ok(None),
            Walk::Full => (true, side.dirty.recorded_paths()),
            // History from the original's sidecar: walk everything once, so
            // that the commit can record the index's real fingerprint.
            Walk::Paths(p) if side.verify_on_push => (true, p),
            Walk::Paths(p) => (false, p),
        };
        paths.retain(|p| ours(root, p));

        // Candidate files from the local side and the base; recorded paths
        // that are gone (markDirty rule 2: their remote subtree is deleted).
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
        // Local states; which decisions need the remote entry.
        let mut g = Gathered {
            needs: gone.clone(),
            gone,
            ..Gathered::default()
        };
        for rel in cands {
            dl.check()?;
            if rules::is_never_synced(&rel) {
                continue;
            }
            let path = root.local_path(&rel);
            let b = base.entries.get(&rel);
            let here = match local::stat(&path)? {
                LocalKind::File { size, mtime } if b.is_none() => {
                    g.new_file(rel, size, mtime);
                    continue;
                }
                LocalKind::File { size, mtime } => {
                    let (sha, _) = local::hash_file(&path)?;
                    g.sigs.insert(
                        rel.clone(),
                        Sig {
                            size,
                            mtime,
                            sha256: Some(sha.clone()),
                        },
                    );
                    Local::Present(sha)
                }
                _ => Local::Absent,
            };
            if !settled(&here, b) {
                g.needs.push(rel.clone());
                g.locals.insert(rel, here);
            }
        }
        let whole = full.then_some(base);
        let walked = Walked {
            full,
            paths,
            through: side.dirty.epoch,
        };
        self.decide_gathered(root, g, &base.entries, whole, walked, dl)
            .map(Some)
    }

    /// Decide what `g` gathered against the remote index, reading it only
    /// if some decision needs it: whole when `whole` (the whole base) is
    /// given, so that the plan can tell whether tree and index will agree;
    /// otherwise the part that can hold the paths decided. `base_of` holds
    /// (at least) the base entries of the paths `g` keeps.
    pub(super) fn decide_gathered(
        &mut self,
        root: &Root,
        g: Gathered,
        base_of: &BTreeMap<String, IndexEntry>,
        whole: Option<&Index>,
        walked: Walked,
        dl: &Deadline,
    ) -> Result<Plan> {
        let Walked {
            full,
            paths,
            through,
        } = walked;
        let Gathered {
            mut sigs,
            needs,
            unhashed,
            mut locals,
            gone,
        } = g;
        if needs.is_empty() {
            return Ok(Plan {
                items: Vec::new(),
                covered: paths,
                full,
                through,
                state: None,
                sigs: BTreeMap::new(),
                agrees: false,
                rebase: BTreeMap::new(),
            });
        }

        let meta = self.read_meta(root)?;
        let need = if whole.is_some() {
            Need::All
        } else {
            Need::Paths(&needs)
        };
        let state = self.load_state(root, meta, need)?;
        let remote_idx = &state.index;
        let mut explicit: BTreeSet<String> = BTreeSet::new();
        for p in &gone {
            for e in remote_idx.under(p) {
                if !rules::is_never_synced(&e.key) {
                    explicit.insert(e.key.clone());
                    locals.entry(e.key.clone()).or_insert(Local::Absent);
                }
            }
        }
        let mut items = Vec::new();
        for rel in unhashed {
            if !remote_idx.entries.contains_key(&rel) {
                items.push((rel, PushAction::UploadNew));
                continue;
            }
            dl.check()?;
            let (sha, _) = local::hash_file(&root.local_path(&rel))?;
            if let Some(sig) = sigs.get_mut(&rel) {
                sig.sha256 = Some(sha.clone());
            }
            locals.insert(rel, Local::Present(sha));
        }
        for (rel, here) in locals {
            let action = decide::push(
                &here,
                base_of.get(&rel),
                remote_idx.entries.get(&rel),
                explicit.contains(&rel),
            );
            if action != PushAction::Skip {
                items.push((rel, action));
            }
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let agrees = whole.is_some() && agrees_after(remote_idx, &sigs, &items);
        let rebase = match whole {
            Some(base) if agrees => rebased(remote_idx, base, &sigs, &items),
            _ => BTreeMap::new(),
        };
        // Keep the signatures of the files to upload only (a set, not a
        // scan of `items` per file: that was quadratic in the tree).
        let uploads: BTreeSet<&str> = items
            .iter()
            .filter(|(_, a)| *a != PushAction::Delete)
            .map(|(r, _)| r.as_str())
            .collect();
        sigs.retain(|rel, _| uploads.contains(rel.as_str()));
        Ok(Plan {
            items,
            covered: paths,
            full,
            through,
            state: Some(state),
            sigs,
            agrees,
            rebase,
        })
    }

    /// Upload what the plan found, in batches; deletions are only listed
    /// here and carried out after the index commit (see `commit`).
    pub(super) fn execute(
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
            agrees: plan.agrees,
            rebase: plan.rebase,
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
        let sent = self.upload_all(&uploads, dl)?;
        let uploaded = plan
            .items
            .into_iter()
            .filter(|(_, action)| *action != PushAction::Delete)
            .zip(sent);
        for ((rel, _), sent) in uploaded {
            let path = root.local_path(&rel);
            let Some(sig) = plan.sigs.get(&rel) else {
                continue;
            };
            // What was sent is what the plan saw only if the file did not
            // change meanwhile: same size and mtime as planned, and the
            // bytes sent hash as planned (where the plan hashed them).
            let changed = || {
                Error::Conflict(format!(
                    "{} changed while the push ran; it stays dirty, push again",
                    path.display()
                ))
            };
            if sent.size != sig.size || sig.sha256.as_ref().is_some_and(|h| *h != sent.sha256) {
                return Err(changed());
            }
            match local::stat(&path)? {
                LocalKind::File { size, mtime } if size == sig.size && mtime == sig.mtime => {}
                _ => return Err(changed()),
            }
            done.uploaded.insert(
                rel.clone(),
                IndexEntry {
                    key: rel,
                    size: sig.size,
                    last_modified: iso_time::now_millis(),
                    local_mtime: sig.mtime.clone(),
                    sha256: Some(sent.sha256),
                },
            );
        }
        done.deleted = deletes;
        Ok((done, plan.state))
    }
}

/// True when, once `items` are committed into `remote` (the whole index, as
/// a full walk reads it), the tree the walk hashed (`sigs`: every syncable
/// local file) and the index agree file for file: each local file is
/// uploaded or already listed with its hash, and each listed file is local
/// or deleted by the push. Any doubt (an entry without a hash, a listed
/// file the walk did not see) is a no.
fn agrees_after(
    remote: &Index,
    sigs: &BTreeMap<String, Sig>,
    items: &[(String, PushAction)],
) -> bool {
    let acts: BTreeMap<&str, PushAction> = items.iter().map(|(r, a)| (r.as_str(), *a)).collect();
    let local_ok = sigs.iter().all(|(rel, sig)| match acts.get(rel.as_str()) {
        Some(PushAction::UploadNew | PushAction::UploadChanged) => true,
        Some(_) => false,
        None => {
            sig.sha256.is_some()
                && remote.entries.get(rel).and_then(|e| e.sha256.as_deref())
                    == sig.sha256.as_deref()
        }
    });
    local_ok
        && remote.entries.keys().all(|key| {
            rules::is_never_synced(key)
                || sigs.contains_key(key)
                || acts.get(key.as_str()) == Some(&PushAction::Delete)
        })
}

/// The base entries that a tree agreeing with `remote` should have but
/// does not: for each file left alone by the push, the remote entry with
/// this machine's mtime, where the base differs.
fn rebased(
    remote: &Index,
    base: &Index,
    sigs: &BTreeMap<String, Sig>,
    items: &[(String, PushAction)],
) -> BTreeMap<String, IndexEntry> {
    let touched: BTreeSet<&str> = items.iter().map(|(r, _)| r.as_str()).collect();
    sigs.iter()
        .filter(|(rel, _)| !touched.contains(rel.as_str()))
        .filter_map(|(rel, sig)| {
            let mut e = remote.entries.get(rel)?.clone();
            e.local_mtime = sig.mtime.clone();
            (base.entries.get(rel) != Some(&e)).then(|| (rel.clone(), e))
        })
        .collect()
}
