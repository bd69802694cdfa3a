//! A whole-tree pull a part at a time: the remote entries of a group of
//! partitions are read, then the base partitions of the same group
//! (`sync::base`, split by the same partition function), and that part of
//! the tree is reconciled (`reconcile` in `pull.rs`) before the next group
//! is read. The guest holds one group's entries, never the whole index, so
//! a pull's memory does not grow with the index (read whole, 100,000
//! entries took over 100 MiB of guest memory in `make bench`, figure f).
//! The groups come from a v2 (shard-first) index's shards, read a batch at
//! a time, or from swamp's v1 monolith kept on disk and split into a file
//! per partition in one streaming pass (`monolith_file.rs`).
//!
//! What keeps a partial view safe: a base entry with no remote entry is
//! taken as deleted remotely, so every path must be decided in the group
//! that holds all of its partition's remote entries. Hence entries are
//! grouped by their partition (`shards::shard_of`, swamp's partition
//! function), an entry listed in another listed partition's shard is
//! `corrupt-data`, and the base partitions no listed shard covers are
//! reconciled last, against nothing (their files were deleted remotely).
//! The journal of an interrupted pull is settled before the first group,
//! since its paths may lie in any group; each group then journals its own
//! downloads. The cache is recorded as reconciled with the meta's
//! `commitSeq` only after every group succeeded.

use std::collections::{BTreeMap, BTreeSet};

use super::monolith_file::{MonolithFile, Split, WORK_DIR};
use super::pull::{Part, settle_pending};
use super::remote_index::{KnownMonolith, Monolith};
use super::transfer::first_failure;
use super::{Deadline, Root, SyncEngine};
use crate::error::{Error, Result};
use crate::sync::base::{stem_of, stem_of_rel};
use crate::sync::index::IndexEntry;
use crate::sync::remote::RemoteStore;
use crate::sync::shards::{Meta, Shard, shard_of};
use crate::sync::state::{Sidecar, StateFiles, Synced};
use swamp_datastore_types::SyncOptions;

/// A group is closed once it holds this many remote entries (a whole
/// shard is never split): about 16,000 entries, a few MiB of guest memory.
/// Unit tests use tiny groups, so every v2 pull they make spans several.
const GROUP_ENTRIES: usize = if cfg!(test) { 2 } else { 16_384 };

/// Shards read in one batch (the store reads a batch concurrently).
const READ_BATCH: usize = if cfg!(test) { 2 } else { 64 };

/// One group of partitions as read: their remote entries, and the stems of
/// the base partitions that hold them.
#[derive(Default)]
struct Group {
    remote: BTreeMap<String, IndexEntry>,
    stems: BTreeSet<String>,
}

impl Group {
    /// Take in the shard of partition `pk`. An entry belongs to the
    /// partition its path maps to; one listed in the shard of another
    /// listed partition (or of a partition an earlier group held) would
    /// be decided twice, once without it, so it is refused.
    fn take(
        &mut self,
        pk: &str,
        shard: Shard,
        listed: &BTreeSet<String>,
        done: &BTreeSet<String>,
        source: &str,
    ) -> Result<()> {
        let own = stem_of(pk);
        for (rel, e) in shard.entries {
            let stem = stem_of_rel(&rel);
            if stem != own {
                if listed.contains(&stem) || done.contains(&stem) {
                    return Err(Error::CorruptData(format!(
                        "index shard {pk} of {source} lists {rel}, which belongs in shard {}: the index is corrupt; rebuild it (swamp datastore migrate-index)",
                        shard_of(&rel)
                    )));
                }
                self.stems.insert(stem);
            }
            self.remote.insert(rel, e);
        }
        self.stems.insert(own);
        Ok(())
    }
}

impl<R: RemoteStore> SyncEngine<R> {
    /// pull-changed of the whole tree from the v2 index `meta` just read.
    pub(super) fn pull_by_parts(
        &mut self,
        root: &Root,
        options: &SyncOptions,
        quick: Sidecar,
        meta: Meta,
        dl: &Deadline,
    ) -> Result<u32> {
        let listed: BTreeSet<String> = meta.partitions.iter().map(|pk| stem_of(pk)).collect();
        let source = self.remote.describe(&root.meta_key());
        let mut pks = meta.partitions.iter();
        let synced = Synced::Sharded(meta.commit_seq.unwrap_or(0));
        self.pull_groups(root, options, quick, synced, dl, |this, done| {
            let mut group = Group::default();
            while group.remote.len() < GROUP_ENTRIES {
                let batch: Vec<String> = pks.by_ref().take(READ_BATCH).cloned().collect();
                if batch.is_empty() {
                    break;
                }
                dl.check()?;
                for (pk, (shard, _)) in this.read_shards(root, &batch, true)? {
                    group.take(&pk, shard, &listed, done, &source)?;
                }
            }
            Ok(group)
        })
    }

    /// pull-changed of the whole tree from the v1 monolith read into
    /// `file`, which is kept afterwards for the next push (a HEAD then
    /// tells whether it is still current).
    pub(super) fn pull_monolith_by_parts(
        &mut self,
        root: &Root,
        options: &SyncOptions,
        quick: Sidecar,
        file: MonolithFile,
        dl: &Deadline,
    ) -> Result<u32> {
        let key = root.index_key();
        let split = Split::of(
            &file,
            root.local.join(WORK_DIR).join("split"),
            &self.remote.describe(&key),
        )?;
        let stems: Vec<&String> = split.counts().keys().collect();
        let mut next = stems.into_iter();
        let synced = Synced::Monolith(file.fp.clone());
        let pulled = self.pull_groups(root, options, quick, synced, dl, |_, _| {
            let mut group = Group::default();
            while group.remote.len() < GROUP_ENTRIES
                && let Some(stem) = next.next()
            {
                split.read(stem, &mut group.remote)?;
                group.stems.insert(stem.clone());
            }
            Ok(group)
        })?;
        self.known_monolith = KnownMonolith::of(key, Monolith::OnDisk(file));
        Ok(pulled)
    }

    /// The pull by parts of the groups `next` reads (an empty group ends
    /// them; it is given the partitions done so far), recorded as
    /// reconciled with `synced` once every group succeeded.
    fn pull_groups(
        &mut self,
        root: &Root,
        options: &SyncOptions,
        quick: Sidecar,
        synced: Synced,
        dl: &Deadline,
        mut next: impl FnMut(&mut Self, &BTreeSet<String>) -> Result<Group>,
    ) -> Result<u32> {
        let mut side = quick;
        let (mut journal, ok) = root.files.load_base_journal()?;
        StateFiles::distrust_unless(&mut side, ok);
        if settle_pending(root, &mut journal)? || !ok {
            root.files.save_base(&mut journal)?;
        }
        drop(journal);

        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut downloaded = 0u32;
        let mut errors = Vec::new();
        loop {
            let group = next(self, &done)?;
            if group.stems.is_empty() {
                break;
            }
            let (n, errs) = self.reconcile_group(root, options, &mut side, &group, dl)?;
            downloaded += n;
            errors.extend(errs);
            done.extend(group.stems);
        }
        // Base partitions that no listed shard covers: every file in them
        // was deleted remotely (or the partition was never listed).
        let left = Group {
            remote: BTreeMap::new(),
            stems: root
                .files
                .base_stems()?
                .into_iter()
                .filter(|s| !done.contains(s))
                .collect(),
        };
        if !left.stems.is_empty() {
            let (n, errs) = self.reconcile_group(root, options, &mut side, &left, dl)?;
            downloaded += n;
            errors.extend(errs);
        }
        first_failure(errors, "downloads")?;
        let mut side = root.files.load_sidecar()?;
        side.set_synced(Some(synced));
        side.lazy_pull_active = options.metadata_only;
        root.files.save_sidecar(&mut side)?;
        Ok(downloaded)
    }

    /// Reconcile the paths of one group with its remote entries.
    fn reconcile_group(
        &mut self,
        root: &Root,
        options: &SyncOptions,
        side: &mut Sidecar,
        group: &Group,
        dl: &Deadline,
    ) -> Result<(u32, Vec<Error>)> {
        let (base, ok, covered) = root
            .files
            .load_base_changed_within(&group.remote, &group.stems)?;
        // A corrupt partition was read as empty: hash what it held, and
        // write it anew even if nothing else changes.
        StateFiles::distrust_unless(side, ok);
        let part = Part {
            remote: &group.remote,
            base,
            covered: &covered,
            base_changed: !ok,
        };
        self.reconcile(root, options, None, side, part, dl)
    }
}
