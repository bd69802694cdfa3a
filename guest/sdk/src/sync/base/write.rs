//! Writing the base back: only the partitions whose content changed since
//! they were read, merged with those that were not read, with the
//! summary's digests dropped before and set after, then the journal, then
//! the legacy file removed. Kept apart from reading because its ordering
//! is what keeps a base killed halfway still true (`base` module docs).

use std::collections::{BTreeMap, BTreeSet};

use super::{BaseFiles, OLD_SUMMARY_FILE, PENDING_FILE, SUMMARY_DIR, digest, stem_of_rel};
use crate::atomic_file;
use crate::error::Result;
use crate::sync::base_summary::{BUCKETS, Summary, buckets_of, digest_entries};
use crate::sync::index::{Index, IndexEntry};
use crate::sync::shards::Shard;

/// What a write does to one partition file that changed.
enum FileChange {
    Write(Vec<u8>),
    Remove,
}

impl BaseFiles {
    /// Write `idx` back: only the partitions that changed since it was
    /// read, partitions first, then the journal (when it was read), then
    /// the legacy file goes. The summary's digests of the partitions about
    /// to change are dropped before they are written and set after.
    pub fn save(&self, idx: &mut Index) -> Result<()> {
        let mut groups: BTreeMap<String, BTreeMap<String, IndexEntry>> = BTreeMap::new();
        for (rel, e) in &idx.entries {
            groups
                .entry(stem_of_rel(rel))
                .or_default()
                .insert(rel.clone(), e.clone());
        }
        let whole = idx.loaded.full;
        // Stems whose file this write may replace or remove.
        let mut stems: BTreeSet<String> = groups.keys().cloned().collect();
        stems.extend(idx.loaded.files.keys().cloned());
        if whole {
            // A whole index is the whole truth: files it lacks go.
            stems.extend(self.stems()?);
        }
        atomic_file::create_dir_all(&self.dir)?;
        let mut plan: Vec<(String, Option<FileChange>, Option<u64>)> = Vec::new();
        let mut written = BTreeMap::new();
        for stem in stems {
            let mut entries = groups.remove(&stem).unwrap_or_default();
            let known = idx.loaded.files.get(&stem).copied();
            if !whole && known.is_none() {
                // Not read: merge with what is there (ours win).
                let path = self.file(&stem);
                if let Some(bytes) = atomic_file::read_optional(&path)?
                    && let Ok((shard, _)) = Shard::parse(&bytes, &path.display().to_string())
                {
                    for (rel, e) in shard.entries {
                        entries.entry(rel).or_insert(e);
                    }
                }
            }
            if entries.is_empty() {
                let change = (known != Some(0) || whole).then_some(FileChange::Remove);
                plan.push((stem.clone(), change, None));
                written.insert(stem, 0);
                continue;
            }
            let sum = digest_entries(&entries);
            let bytes = Shard {
                entries,
                ..Shard::default()
            }
            .to_compact();
            let d = digest(&bytes);
            let change =
                (known != Some(d) || !idx.loaded.sharded).then_some(FileChange::Write(bytes));
            plan.push((stem.clone(), change, sum));
            written.insert(stem, d);
        }
        let summary_dir = self.dir.join(SUMMARY_DIR);
        // The summary's buckets this write may change: those of the
        // partitions it writes (all of them for a whole index, whose
        // summary replaces what is there).
        let plan_stems: BTreeSet<String> = plan.iter().map(|(stem, _, _)| stem.clone()).collect();
        let buckets = if whole {
            (0..BUCKETS).collect()
        } else {
            buckets_of(&plan_stems)
        };
        // What the summary on disk says now, and what it will say.
        let mut on_disk = Summary::read(&summary_dir, (!whole).then_some(&plan_stems))?;
        let mut summary = if whole {
            Summary::default()
        } else {
            on_disk.clone().unwrap_or_default()
        };
        let changing: Vec<&String> = plan
            .iter()
            .filter(|(_, change, _)| change.is_some())
            .map(|(stem, _, _)| stem)
            .collect();
        if let Some(disk) = &on_disk
            && changing.iter().any(|s| disk.has(s))
        {
            let mut dropped = disk.clone();
            for stem in &changing {
                dropped.set(stem, None);
            }
            dropped.write(&summary_dir, &buckets_of(changing.iter().copied()))?;
            on_disk = Some(dropped);
        }
        for (stem, change, sum) in &plan {
            let path = self.file(stem);
            match change {
                Some(FileChange::Write(bytes)) => atomic_file::write_atomic(&path, bytes)?,
                Some(FileChange::Remove) => atomic_file::remove_if_present(&path)?,
                None => {}
            }
            summary.set(stem, *sum);
        }
        if idx.loaded.journal || whole {
            let pending = self.dir.join(PENDING_FILE);
            if idx.pending.is_empty() {
                atomic_file::remove_if_present(&pending)?;
            } else {
                let bytes = serde_json::to_vec(&idx.pending).unwrap_or_default();
                atomic_file::write_atomic(&pending, &bytes)?;
            }
        }
        if on_disk.as_ref() != Some(&summary) {
            summary.write_after_partitions(&summary_dir, &buckets)?;
        }
        atomic_file::remove_if_present(&self.dir.join(OLD_SUMMARY_FILE))?;
        atomic_file::remove_if_present(&self.legacy)?;
        idx.loaded.files = written;
        idx.loaded.sharded = true;
        Ok(())
    }
}
