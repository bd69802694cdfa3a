//! The local base index on disk, one file per partition, so that a call
//! about a few paths reads and writes only their partitions.
//!
//! The base (what both sides agreed on at the last sync, see `decide`) has
//! an entry per synced file. Kept as one JSON file, every push after one
//! edit parsed it whole and wrote it back twice: 1 s at 100,000 entries in
//! `make bench` (figure f), and all of it in the guest's memory. Here it is
//! split by swamp's partition function (`shards::shard_of`), the same
//! split as the remote v2 layout, so one model's files share a file:
//!
//! * `_index/.local-base/{partition}.json`: `{"version":1,"entries":{…}}`
//!   (a partition key too long for a file name is stored under `_h` and a
//!   hash of it). `_index/` is internal to swamp's clients, so neither
//!   ours nor the original ever syncs these files.
//! * `_index/.local-base/_pending.json`: the pull's journal
//!   ([`Index::pending`]), written only by calls that read it.
//! * `_index/.local-base/_summary.json`: a digest per partition
//!   (`sync::base_summary`), so a pull reads only the partitions where the
//!   remote index differs from the base ([`BaseFiles::load_changed`]).
//! * The legacy single file `.datastore-index.json` is read when the
//!   directory does not exist yet, and removed by the first write.
//!
//! A read remembers a digest of each partition file it read
//! ([`Loaded`]); a write rewrites only the partitions whose content
//! changed, and removes the ones emptied. Partition files are written
//! atomically and durably one by one, partitions first and the journal
//! last, so a process killed in between leaves some partitions new and
//! others old: an old entry is still true of the remote it was recorded
//! against (the push forgets what it changes before its index commit), a
//! missing one means "history unknown", and a pending journal is settled
//! again by the next pull (`settle_pending` in `engine/pull.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::sync::base_summary::{Summary, digest_entries};
use crate::sync::index::{self, Index, IndexEntry};
use crate::sync::shards::{self, Shard};

/// The directory of the partition files, relative to a root.
pub const BASE_DIR: &str = "_index/.local-base";
/// The pull's journal, inside [`BASE_DIR`].
const PENDING_FILE: &str = "_pending.json";
/// The partition digests, inside [`BASE_DIR`].
const SUMMARY_FILE: &str = "_summary.json";
/// Longest partition key kept as its own file name (file names stop at
/// 255 bytes; keys are rel segments joined by `--`).
const MAX_PLAIN_KEY: usize = 200;

/// What a read took from disk: the digest of each partition file read,
/// and whether it read all of them. Travels inside the [`Index`] it
/// describes, so a write knows what it may leave alone.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Digest of each partition file as read (by file stem).
    files: BTreeMap<String, u64>,
    /// Every partition was read (and the journal).
    full: bool,
    /// Read from the sharded directory (not the legacy file or nothing).
    sharded: bool,
    /// The journal was read with it (so a write writes it back).
    journal: bool,
}

/// Never part of an index's value: two indexes with equal entries are
/// equal however they were read.
impl PartialEq for Loaded {
    fn eq(&self, _: &Loaded) -> bool {
        true
    }
}
impl Eq for Loaded {}

impl Index {
    /// An empty base that a write replaces whole (nothing, or nothing
    /// readable, was on disk).
    fn unknown_base() -> Index {
        let mut idx = Index::default();
        idx.loaded.full = true;
        idx
    }
}

fn digest(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The file stem of the partition holding `rel`.
pub(crate) fn stem_of_rel(rel: &str) -> String {
    stem_of(&shards::shard_of(rel))
}

/// The digest of the entries of each partition (by file stem) of
/// `entries`, as [`Summary`] records them for the base.
pub fn digests_by_stem(entries: &BTreeMap<String, IndexEntry>) -> BTreeMap<String, Option<u64>> {
    let mut groups: BTreeMap<String, Vec<(&String, &IndexEntry)>> = BTreeMap::new();
    for (rel, e) in entries {
        groups.entry(stem_of_rel(rel)).or_default().push((rel, e));
    }
    groups
        .into_iter()
        .map(|(stem, mut list)| {
            // Keys of one stem arrive in key order already, except those
            // of hashed stems (several partitions share none: still sort).
            list.sort_by(|a, b| a.0.cmp(b.0));
            (stem, digest_entries(list))
        })
        .collect()
}

/// What a write does to one partition file that changed.
enum FileChange {
    Write(Vec<u8>),
    Remove,
}

/// The partitions a read covered: all, or these stems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// Every partition.
    All,
    /// Only these (by file stem); the others agree with the remote index.
    Stems(BTreeSet<String>),
}

impl Covered {
    /// True when the partition holding `rel` was read.
    pub fn holds(&self, rel: &str) -> bool {
        match self {
            Covered::All => true,
            Covered::Stems(s) => s.contains(&stem_of_rel(rel)),
        }
    }
}

/// The file stem a partition is stored under.
fn stem_of(pk: &str) -> String {
    if pk.len() <= MAX_PLAIN_KEY && !pk.starts_with('.') && !pk.starts_with("_h") {
        pk.to_string()
    } else {
        let h = hex::encode(Sha256::digest(pk.as_bytes()));
        format!("_h{}", &h[..32])
    }
}

/// The base of the root at `root`.
#[derive(Debug, Clone)]
pub struct BaseFiles {
    dir: PathBuf,
    legacy: PathBuf,
}

impl BaseFiles {
    /// The base files of the cache tree at `root`; `legacy` is the single
    /// file older versions kept.
    pub fn at(root: &Path, legacy: PathBuf) -> BaseFiles {
        BaseFiles {
            dir: root.join(BASE_DIR),
            legacy,
        }
    }

    /// The path whose modification time says when the base last changed.
    pub fn changed_marker(&self) -> &Path {
        if self.dir.is_dir() {
            &self.dir
        } else {
            &self.legacy
        }
    }

    fn file(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.json"))
    }

    /// The partition file stems on disk.
    fn stems(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(self.dir.display(), e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(self.dir.display(), e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(".json")
                && name != PENDING_FILE
                && name != SUMMARY_FILE
                && !atomic_file::is_temp_name(name)
            {
                out.push(stem.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

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
        let Some(summary) = Summary::read(&self.dir.join(SUMMARY_FILE))? else {
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
            .filter(|stem| {
                let base = summary.get(stem);
                base.is_none() || remote_digests.get(stem).copied().flatten() != base
            })
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
        let summary_path = self.dir.join(SUMMARY_FILE);
        // What the summary on disk says now, and what it will say.
        let mut on_disk = Summary::read(&summary_path)?;
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
            dropped.write(&summary_path)?;
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
            summary.write(&summary_path)?;
        }
        atomic_file::remove_if_present(&self.legacy)?;
        idx.loaded.files = written;
        idx.loaded.sharded = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rel: &str, sha: &str) -> IndexEntry {
        IndexEntry {
            key: rel.into(),
            size: 1,
            last_modified: "2026-01-01T00:00:00.000Z".into(),
            local_mtime: None,
            sha256: Some(sha.into()),
        }
    }

    fn base_with(rels: &[&str]) -> (tempfile::TempDir, BaseFiles, Index) {
        let d = tempfile::tempdir().unwrap();
        let files = BaseFiles::at(d.path(), d.path().join(".datastore-index.json"));
        let mut idx = files.load().unwrap().0;
        for r in rels {
            idx.entries.insert(r.to_string(), entry(r, "a"));
        }
        files.save(&mut idx).unwrap();
        (d, files, idx)
    }

    /// Put a non-empty directory where partition `stem`'s file is, so that
    /// replacing it fails; its path.
    fn block(files: &BaseFiles, stem: &str) -> PathBuf {
        let p = files.file(stem);
        std::fs::remove_file(&p).unwrap();
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("x"), b"x").unwrap();
        p
    }

    fn stems(files: &BaseFiles) -> Vec<String> {
        files.stems().unwrap()
    }

    #[test]
    fn a_legacy_single_file_is_read_and_replaced_by_partitions() {
        let d = tempfile::tempdir().unwrap();
        let legacy = d.path().join(".datastore-index.json");
        let mut old = Index::default();
        old.entries
            .insert("data/t/m/d/1/raw".into(), entry("data/t/m/d/1/raw", "a"));
        old.entries.insert("top".into(), entry("top", "b"));
        std::fs::write(&legacy, old.to_pretty()).unwrap();
        let files = BaseFiles::at(d.path(), legacy.clone());
        let (mut idx, ok) = files.load().unwrap();
        assert!(ok);
        assert_eq!(idx.entries, old.entries);
        files.save(&mut idx).unwrap();
        assert!(!legacy.exists(), "the first write migrates");
        assert_eq!(stems(&files), vec!["_root", "data--t--m"]);
        assert_eq!(files.load().unwrap().0.entries, old.entries);
    }

    #[test]
    fn a_partial_write_merges_with_partitions_it_did_not_read_and_keeps_the_journal() {
        let (_d, files, mut whole) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
        whole.pending.insert(
            "data/t/a/d/2/raw".into(),
            Some(entry("data/t/a/d/2/raw", "p")),
        );
        files.save(&mut whole).unwrap();
        let (mut part, ok) = files.load_for(&["data/t/a/d/1/raw".to_string()]).unwrap();
        assert!(ok);
        assert_eq!(part.entries.len(), 1);
        assert!(part.pending.is_empty(), "a partial read leaves the journal");
        // A file of a partition that was not read: merged, not replacing it.
        part.entries
            .insert("data/t/b/d/9/raw".into(), entry("data/t/b/d/9/raw", "n"));
        part.entries.remove("data/t/a/d/1/raw");
        files.save(&mut part).unwrap();
        let (after, ok) = files.load().unwrap();
        assert!(ok);
        let keys: Vec<&str> = after.entries.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["data/t/b/d/1/raw", "data/t/b/d/9/raw"]);
        assert_eq!(after.pending.len(), 1, "the journal survived");
        assert_eq!(
            stems(&files),
            vec!["data--t--b"],
            "the emptied partition is gone"
        );
    }

    #[test]
    fn a_write_rewrites_only_partitions_that_changed() {
        let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
        let b = files.file("data--t--b");
        // Dated in the past, so a rewrite would show.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mtime = || std::fs::metadata(&b).unwrap().modified().unwrap();
        let (mut idx, ok) = files.load().unwrap();
        assert!(ok);
        idx.entries.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("c".into());
        files.save(&mut idx).unwrap();
        assert_eq!(mtime(), old, "unchanged: not written");
        assert_ne!(
            std::fs::metadata(files.file("data--t--a"))
                .unwrap()
                .modified()
                .unwrap(),
            old
        );
        let (again, _) = files.load().unwrap();
        assert_eq!(
            again.entries["data/t/a/d/1/raw"].sha256.as_deref(),
            Some("c")
        );
    }

    #[test]
    fn a_partition_key_too_long_for_a_file_name_is_stored_under_its_hash() {
        let long = format!("data/{}/m/d/1/raw", "t".repeat(300));
        let (_d, files, _) = base_with(&[&long]);
        let s = stems(&files);
        assert_eq!(s.len(), 1);
        assert!(s[0].starts_with("_h") && s[0].len() == 34, "{s:?}");
        let (part, ok) = files.load_for(std::slice::from_ref(&long)).unwrap();
        assert!(ok);
        assert!(part.entries.contains_key(&long));
    }

    #[test]
    fn a_corrupt_partition_makes_the_whole_base_unknown_and_the_next_write_repairs_it() {
        let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
        std::fs::write(files.file("data--t--a"), b"{").unwrap();
        let (mut idx, ok) = files.load().unwrap();
        assert!(!ok);
        assert!(idx.entries.is_empty());
        let (part, ok) = files.load_for(&["data/t/b/d/1/raw".to_string()]).unwrap();
        assert!(ok, "a partial read does not read the corrupt partition");
        assert_eq!(part.entries.len(), 1);
        let (_, ok) = files.load_for(&["data/t/a/d/1/raw".to_string()]).unwrap();
        assert!(
            !ok,
            "one that reads it falls back to the whole, which is corrupt"
        );
        idx.entries
            .insert("data/t/c/d/1/raw".into(), entry("data/t/c/d/1/raw", "c"));
        files.save(&mut idx).unwrap();
        assert_eq!(stems(&files), vec!["data--t--c"]);
        assert!(files.load().unwrap().1);
    }

    #[test]
    fn a_changed_partition_loses_its_digest_before_it_is_rewritten() {
        let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
        let summary = || {
            Summary::read(&files.dir.join(SUMMARY_FILE))
                .unwrap()
                .unwrap()
        };
        assert!(summary().has("data--t--a") && summary().has("data--t--b"));
        let (mut part, _) = files.load_for(&["data/t/a/d/1/raw".to_string()]).unwrap();
        part.entries.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("changed".into());
        // The partition cannot be replaced (a directory is in the way of
        // the rename): the write fails after the digests were updated for
        // what it was about to do, and never vouches for the old contents.
        let a = block(&files, "data--t--a");
        assert!(files.save(&mut part).is_err());
        assert!(!summary().has("data--t--a"), "digest dropped first");
        assert!(summary().has("data--t--b"), "others kept");
        std::fs::remove_dir_all(&a).unwrap();
        files.save(&mut part).unwrap();
        let want = digest_entries(&part.entries);
        assert_eq!(summary().get("data--t--a"), want, "set after the write");
    }

    #[test]
    fn load_changed_reads_the_partitions_whose_digest_differs_and_the_journalled_ones() {
        let rels = ["data/t/a/d/1/raw", "data/t/b/d/1/raw", "data/t/c/d/1/raw"];
        let (_d, files, mut whole) = base_with(&rels);
        whole.pending.insert(
            "data/t/c/d/2/raw".into(),
            Some(entry("data/t/c/d/2/raw", "p")),
        );
        files.save(&mut whole).unwrap();
        let mut remote = whole.entries.clone();
        remote.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("new".into());
        remote.insert("data/t/d/d/1/raw".into(), entry("data/t/d/d/1/raw", "d"));
        let (idx, ok, covered) = files.load_changed(&remote).unwrap();
        assert!(ok);
        let read: Vec<&str> = idx.entries.keys().map(String::as_str).collect();
        assert_eq!(read, vec!["data/t/a/d/1/raw", "data/t/c/d/1/raw"]);
        assert_eq!(idx.pending.len(), 1, "the journal is read");
        assert!(covered.holds("data/t/a/d/9/raw"));
        assert!(covered.holds("data/t/d/d/1/raw"), "new remotely");
        assert!(!covered.holds("data/t/b/d/1/raw"), "agrees");
        // A partition on disk that the remote index lacks is read too.
        let mut fewer = whole.entries.clone();
        fewer.remove("data/t/b/d/1/raw");
        let (_, _, covered) = files.load_changed(&fewer).unwrap();
        assert!(covered.holds("data/t/b/d/1/raw"));
    }

    #[test]
    fn a_whole_write_also_drops_the_digest_first_and_an_unchanged_one_writes_nothing() {
        let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
        let path = files.dir.join(SUMMARY_FILE);
        let summary = || Summary::read(&path).unwrap().unwrap();
        // Nothing changed: neither partitions nor the summary are written.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let (mut whole, ok) = files.load().unwrap();
        assert!(ok);
        files.save(&mut whole).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), old);
        // A whole write that fails on a partition it changes leaves that
        // partition without a digest.
        whole.entries.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("changed".into());
        block(&files, "data--t--a");
        assert!(files.save(&mut whole).is_err());
        assert!(!summary().has("data--t--a"));
        assert!(summary().has("data--t--b"));
    }
}
