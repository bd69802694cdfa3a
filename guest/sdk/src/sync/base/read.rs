//! Reading the base: whole ([`BaseFiles::load`]), only the partitions
//! that can hold some paths ([`BaseFiles::load_for`]), or only those
//! where it may disagree with the remote index
//! ([`BaseFiles::load_changed`]), falling back to the legacy single file
//! before the first write. Kept apart from the write, which shares only
//! the layout and the `Loaded` record each read leaves in the index.

use std::collections::{BTreeMap, BTreeSet};

use super::partition::stem_of;
use super::{BaseFiles, Covered, PENDING_FILE, SUMMARY_DIR, digest, digests_by_stem, stem_of_rel};
use crate::atomic_file;
use crate::error::Result;
use crate::sync::base_summary::Summary;
use crate::sync::index::{self, Index, IndexEntry};
use crate::sync::shards::{self, Shard};

impl Index {
    /// An empty base that a write replaces whole (nothing, or nothing
    /// readable, was on disk).
    fn unknown_base() -> Index {
        let mut idx = Index::default();
        idx.loaded.full = true;
        idx
    }
}

impl BaseFiles {
    /// Read the partition files `stems` into `idx`. False when one is
    /// corrupt (then `idx` is left empty).
    fn read_into(&self, idx: &mut Index, stems: &[String]) -> Result<bool> {
        for stem in stems {
            let path = self.file(stem);
            let Some(bytes) = atomic_file::read_optional(&path)? else {
                continue; // removed meanwhile: nothing to know
            };
            match Shard::parse(&bytes, &path.display().to_string()) {
                Ok((shard, _)) => {
                    idx.loaded.files.insert(stem.clone(), digest(&bytes));
                    idx.entries.extend(shard.entries);
                }
                Err(_) => {
                    *idx = Index::unknown_base();
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The whole base. Missing ⇒ empty. Corrupt ⇒ empty and `false`.
    pub fn load(&self) -> Result<(Index, bool)> {
        if !self.dir.is_dir() {
            return self.load_legacy();
        }
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        idx.loaded.full = true;
        if !self.read_into(&mut idx, &self.stems()?)? {
            return Ok((idx, false));
        }
        if !self.read_journal(&mut idx)? {
            return Ok((Index::unknown_base(), false));
        }
        Ok((idx, true))
    }

    /// Read the pull's journal into `idx`; false when it is corrupt.
    fn read_journal(&self, idx: &mut Index) -> Result<bool> {
        idx.loaded.journal = true;
        let pending = self.dir.join(PENDING_FILE);
        if let Some(bytes) = atomic_file::read_optional(&pending)? {
            match serde_json::from_slice::<BTreeMap<String, Option<IndexEntry>>>(&bytes) {
                Ok(mut p) => {
                    index::scrub_pending(&mut p);
                    idx.pending = p;
                }
                Err(_) => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The base as a pull needs it: the journal, and the partitions where
    /// the base may disagree with `remote` (the remote index's entries):
    /// those whose digest in the summary differs from the digest of
    /// `remote`'s entries of that partition, those without a digest, and
    /// those holding a journalled path. Without a summary, the whole base.
    /// Also says which partitions were read: entries of the others agree
    /// with `remote` (same paths, hashes and sizes).
    pub fn load_changed(
        &self,
        remote: &BTreeMap<String, IndexEntry>,
    ) -> Result<(Index, bool, Covered)> {
        let whole = |r: (Index, bool)| (r.0, r.1, Covered::All);
        if !self.dir.is_dir() {
            return self.load_legacy().map(whole);
        }
        let Some(summary) = Summary::read(&self.dir.join(SUMMARY_DIR), None)? else {
            return self.load().map(whole);
        };
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        if !self.read_journal(&mut idx)? {
            return self.load().map(whole);
        }
        let remote_digests = digests_by_stem(remote);
        let mut wanted: BTreeSet<String> = self
            .stems()?
            .into_iter()
            .chain(remote_digests.keys().cloned())
            .filter(|stem| must_read(Some(&summary), &remote_digests, stem))
            .collect();
        wanted.extend(idx.pending.keys().map(|rel| stem_of_rel(rel)));
        let stems: Vec<String> = wanted.iter().cloned().collect();
        if !self.read_into(&mut idx, &stems)? {
            // A corrupt partition: read (and later rewrite) the whole base.
            return self.load().map(whole);
        }
        // Partitions asked for but absent are known to be empty.
        for stem in &stems {
            idx.loaded.files.entry(stem.clone()).or_insert(0);
        }
        Ok((idx, true, Covered::Stems(wanted)))
    }

    /// The base entries of the files `files` (and possibly others): only
    /// their own partitions are read, found from their paths without
    /// listing the directory (which holds a file per partition: 10,000 at
    /// a million entries in `make bench`, figure f). A path that is a
    /// directory needs [`load_for`](Self::load_for). The journal is not
    /// read, and a write of this index leaves it alone.
    pub fn load_for_files(&self, files: &[String]) -> Result<(Index, bool)> {
        if !self.dir.is_dir() {
            return self.load_legacy();
        }
        let stems: BTreeSet<String> = files.iter().map(|f| stem_of_rel(f)).collect();
        let stems: Vec<String> = stems.into_iter().collect();
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        if !self.read_into(&mut idx, &stems)? {
            return self.load();
        }
        // Partitions asked for but absent are known to be empty.
        for stem in stems {
            idx.loaded.files.entry(stem).or_insert(0);
        }
        Ok((idx, true))
    }

    /// True when the base is kept by partition, or there is none yet: a
    /// pull may then read it a few partitions at a time (the legacy single
    /// file is read whole, by the other loads, until a write splits it).
    pub fn is_partitioned(&self) -> bool {
        self.dir.is_dir() || !self.legacy.exists()
    }

    /// The partition file stems on disk.
    pub fn partition_stems(&self) -> Result<Vec<String>> {
        self.stems()
    }

    /// Read the partition files `stems` into `idx`, a corrupt one as
    /// empty: its history is unknown, which the pull's decisions allow
    /// for, and a write of `idx` replaces or removes it (its digest is
    /// recorded as read, so it differs from whatever is written). Absent
    /// ones are known to be empty. False when one was corrupt. Unlike
    /// [`read_into`](Self::read_into), never turns `idx` into a whole
    /// base: that would let a write drop the partitions not read.
    fn read_lenient(&self, idx: &mut Index, stems: &BTreeSet<String>) -> Result<bool> {
        let mut ok = true;
        for stem in stems {
            let path = self.file(stem);
            let mut read = 0;
            if let Some(bytes) = atomic_file::read_optional(&path)? {
                read = digest(&bytes);
                match Shard::parse(&bytes, &path.display().to_string()) {
                    Ok((shard, _)) => idx.entries.extend(shard.entries),
                    Err(_) => ok = false,
                }
            }
            idx.loaded.files.insert(stem.clone(), read);
        }
        Ok(ok)
    }

    /// The partitions `stems` alone (no journal), a corrupt one read as
    /// empty and `false`, for a walk that goes a part of the tree at a time
    /// (`engine/plan_walk.rs`).
    pub fn load_stems(&self, stems: &BTreeSet<String>) -> Result<(Index, bool)> {
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        if !self.dir.is_dir() {
            return Ok((idx, true));
        }
        let ok = self.read_lenient(&mut idx, stems)?;
        Ok((idx, ok))
    }

    /// The pull's journal and the partitions holding its paths, so that
    /// it can be settled before a pull that goes a part at a time
    /// ([`load_changed_within`](Self::load_changed_within) reads none).
    /// A corrupt journal is read as empty (and removed by the next write)
    /// and `false`.
    pub fn load_journal(&self) -> Result<(Index, bool)> {
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        if !self.dir.is_dir() {
            return Ok((idx, true));
        }
        let mut ok = self.read_journal(&mut idx)?;
        if !ok {
            idx.pending.clear();
        }
        let stems: BTreeSet<String> = idx.pending.keys().map(|rel| stem_of_rel(rel)).collect();
        ok &= self.read_lenient(&mut idx, &stems)?;
        Ok((idx, ok))
    }

    /// The base as one part of a pull needs it: of the partitions `stems`,
    /// those where it may disagree with `remote` (the remote index's
    /// entries in those partitions), chosen by the summary as
    /// [`load_changed`](Self::load_changed) does; all of them without a
    /// summary. The journal must be settled already: it is taken as
    /// empty, and a write of this index writes it (so the part's own
    /// downloads are journalled before they land). False when a
    /// partition was corrupt (read as empty).
    pub fn load_changed_within(
        &self,
        remote: &BTreeMap<String, IndexEntry>,
        stems: &BTreeSet<String>,
    ) -> Result<(Index, bool, Covered)> {
        let summary = Summary::read(&self.dir.join(SUMMARY_DIR), Some(stems))?;
        let remote_digests = digests_by_stem(remote);
        let wanted: BTreeSet<String> = stems
            .iter()
            .filter(|stem| must_read(summary.as_ref(), &remote_digests, stem))
            .cloned()
            .collect();
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        idx.loaded.journal = true;
        let ok = self.read_lenient(&mut idx, &wanted)?;
        Ok((idx, ok, Covered::Stems(wanted)))
    }

    fn load_legacy(&self) -> Result<(Index, bool)> {
        let Some(bytes) = atomic_file::read_optional(&self.legacy)? else {
            return Ok((Index::unknown_base(), true));
        };
        match Index::parse(&bytes, &self.legacy.display().to_string()) {
            Ok((mut idx, _)) => {
                idx.loaded.full = true;
                Ok((idx, true))
            }
            Err(_) => Ok((Index::unknown_base(), false)),
        }
    }

    /// The base entries equal to or below `paths` (and possibly others):
    /// only the partitions that can hold them are read. The journal is
    /// not read, and a write of this index leaves it alone.
    pub fn load_for(&self, paths: &[String]) -> Result<(Index, bool)> {
        if !self.dir.is_dir() {
            return self.load_legacy();
        }
        let stems = self.stems()?;
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for p in paths {
            wanted.extend(
                shards::shards_touching(p, &stems)
                    .into_iter()
                    .map(str::to_string),
            );
        }
        // Hashed stems cannot be matched by key: read them too.
        wanted.extend(stems.iter().filter(|s| s.starts_with("_h")).cloned());
        let mut idx = Index::default();
        idx.loaded.sharded = true;
        let wanted: Vec<String> = wanted.into_iter().collect();
        if !self.read_into(&mut idx, &wanted)? {
            // A corrupt partition: read (and later rewrite) the whole base.
            return self.load();
        }
        // Partitions asked for but absent are known to be empty.
        for p in paths {
            idx.loaded
                .files
                .entry(stem_of(&shards::shard_of(p)))
                .or_insert(0);
        }
        Ok((idx, true))
    }
}

/// Whether the base partition `stem` must be read to reconcile it with the
/// remote: the base summary records no digest for it, or the remote's
/// entries of that partition digest differently.
fn must_read(
    summary: Option<&Summary>,
    remote: &BTreeMap<String, Option<u64>>,
    stem: &str,
) -> bool {
    let base = summary.and_then(|s| s.get(stem));
    base.is_none() || remote.get(stem).copied().flatten() != base
}
