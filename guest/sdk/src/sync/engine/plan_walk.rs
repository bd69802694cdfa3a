//! A whole-tree push planned a part of the tree at a time, so that the
//! guest never holds the whole base or a list of the whole tree: the first
//! push after a bulk mark (or on a cache without history, as after the
//! first pull) walks every file, and read whole, the base and the walk of
//! 100,000 files took about 40 MiB of guest memory (`make bench`, figure
//! f), a million ten times that.
//!
//! The walk hands over files as it finds them (`local::walk_each`); every
//! few thousand, the base partitions that can hold them are read and each
//! file is settled (hashes equal to its base entry) or kept for a decision,
//! as `plan.rs` does for a whole walk. Base entries whose file is gone are
//! found without a list of the walk: per partition, the walk counts the
//! files it saw that the partition lists; a partition whose count falls
//! short of its entries (or that no walked file touched) is read again and
//! its entries' files looked up. What is kept is what the push acts on.
//!
//! The plan then reads only the part of the remote index those files need,
//! not all of it, so it cannot tell whether the whole tree will agree with
//! the index it commits (`Plan::agrees`): the cache is then recorded as
//! reconciled only if it was before, and an unknown history costs one
//! whole pull later (which goes by parts too, `pull_parts.rs`). A push that
//! must prove that agreement (history from the original's sidecar) walks
//! the whole tree in one piece (`plan.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{Gathered, Plan, Walked, settled};
use super::{Deadline, Root, SyncEngine};
use crate::error::Result;
use crate::sync::base::stem_of_rel;
use crate::sync::decide::Local;
use crate::sync::index::IndexEntry;
use crate::sync::local::{self, LocalKind};
use crate::sync::remote::RemoteStore;
use crate::sync::rules;
use crate::sync::state::Sidecar;

/// Files taken in per part (unit tests use tiny parts, so every full-walk
/// push they make spans several).
const PART_FILES: usize = if cfg!(test) { 3 } else { 16_384 };

/// What the walk keeps between parts.
#[derive(Default)]
struct Walk {
    gathered: Gathered,
    /// The base entries of the files kept for a decision.
    base: BTreeMap<String, IndexEntry>,
    /// Per partition stem: its entries when read.
    listed: BTreeMap<String, usize>,
    /// Per partition stem: walked files it lists.
    seen: BTreeMap<String, usize>,
    /// Every partition read was sound.
    ok: bool,
}

impl Walk {
    /// Settle or keep the walked `files`.
    fn part(&mut self, root: &Root, files: Vec<String>, dl: &Deadline) -> Result<()> {
        let stems: BTreeSet<String> = files.iter().map(|r| stem_of_rel(r)).collect();
        let (base, ok) = root.files.load_base_stems(&stems)?;
        self.ok &= ok;
        let mut listed: BTreeMap<String, usize> = stems.into_iter().map(|s| (s, 0)).collect();
        for rel in base.entries.keys() {
            *listed.entry(stem_of_rel(rel)).or_default() += 1;
        }
        self.listed.extend(listed);
        for rel in files {
            dl.check()?;
            if rules::is_never_synced(&rel) {
                continue;
            }
            let b = base.entries.get(&rel);
            if b.is_some() {
                *self.seen.entry(stem_of_rel(&rel)).or_default() += 1;
            }
            let path = root.local_path(&rel);
            let here = match local::stat(&path)? {
                LocalKind::File { size, mtime } if b.is_none() => {
                    self.gathered.new_file(rel, size, mtime);
                    continue;
                }
                LocalKind::File { size, mtime } => {
                    let (sha, _) = local::hash_file(&path)?;
                    let here = Local::Present(sha.clone());
                    if !settled(&here, b) {
                        self.gathered.sigs.insert(
                            rel.clone(),
                            super::plan::Sig {
                                size,
                                mtime,
                                sha256: Some(sha),
                            },
                        );
                    }
                    here
                }
                // Gone since the walk found it.
                _ => Local::Absent,
            };
            self.keep(rel, here, b);
        }
        Ok(())
    }

    /// Keep `rel` for a decision unless `b` settles it.
    fn keep(&mut self, rel: String, here: Local, b: Option<&IndexEntry>) {
        if settled(&here, b) {
            return;
        }
        if let Some(b) = b {
            self.base.insert(rel.clone(), b.clone());
        }
        self.gathered.needs.push(rel.clone());
        self.gathered.locals.insert(rel, here);
    }

    /// The base entries whose file the walk did not see: gone locally.
    fn gone_files(&mut self, root: &Root, dl: &Deadline) -> Result<()> {
        for stem in root.files.base_stems()? {
            let seen = self.seen.get(&stem).copied().unwrap_or(0);
            if self.listed.get(&stem) == Some(&seen) {
                continue;
            }
            let (part, ok) = root.files.load_base_stems(&BTreeSet::from([stem]))?;
            self.ok &= ok;
            for (rel, b) in part.entries {
                dl.check()?;
                if rules::is_never_synced(&rel) {
                    continue;
                }
                if !matches!(local::stat(&root.local_path(&rel))?, LocalKind::File { .. }) {
                    self.keep(rel, Local::Absent, Some(&b));
                }
            }
        }
        Ok(())
    }
}

impl<R: RemoteStore> SyncEngine<R> {
    /// Plan a push after a bulk mark by parts (see the module docs); also
    /// whether every base partition read was sound. `paths` are the
    /// recorded dirty paths the walk covers.
    pub(super) fn plan_walk_by_parts(
        &mut self,
        root: &Root,
        side: &Sidecar,
        paths: Vec<String>,
        dl: &Deadline,
    ) -> Result<(Plan, bool)> {
        let mut walk = Walk {
            ok: true,
            ..Walk::default()
        };
        for p in &paths {
            if local::stat(&root.local_path(p))? == LocalKind::Absent {
                walk.gathered.gone.push(p.clone());
                walk.gathered.needs.push(p.clone());
            }
        }
        let mut part = Vec::with_capacity(PART_FILES);
        local::walk_each(&root.local, "", &|r, p| root.skip_dir(r, p), &mut |rel| {
            part.push(rel);
            if part.len() >= PART_FILES {
                walk.part(root, std::mem::take(&mut part), dl)?;
            }
            Ok(())
        })?;
        walk.part(root, part, dl)?;
        walk.gone_files(root, dl)?;
        let Walk {
            gathered, base, ok, ..
        } = walk;
        let walked = Walked {
            full: true,
            paths,
            through: side.dirty.epoch,
        };
        let plan = self.decide_gathered(root, gathered, &base, None, walked, dl)?;
        Ok((plan, ok))
    }
}
