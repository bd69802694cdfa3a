//! A digest per partition of the local base, so a pull can tell which
//! partitions the remote index still agrees with without reading them.
//!
//! A pull skips every file whose remote entry has the base's hash and size
//! (nothing changed on either side since the last reconcile, `engine/pull.rs`).
//! Finding those files meant reading the whole base and writing it back:
//! at 10,000 entries two thirds of a pull after one remote edit
//! (`bench/sync-compare/examples/profile_sync.rs`). The digest of a
//! partition's `(rel, sha256, size)` triples is kept beside the partition
//! files; a pull computes the same digest over the remote entries of each
//! partition and reads, decides and rewrites only the partitions where the
//! two differ. A partition with an entry without a hash has no digest (its
//! entries are never skipped, so it is always read).
//!
//! `_index/.local-base/_summary/{bucket}.json`, 64 buckets by a hash of
//! the partition's stem, each `{"version":1,"partitions":{stem: "16 hex
//! digits"}}`: a write touches the buckets of the partitions it changes,
//! not a file of every partition (one file was a third of a push after one
//! edit at a million entries, 10,000 partitions, in `make bench` figure f).
//! It is only a cache: missing or unreadable, a bucket's partitions are
//! read. A write first drops the digests of the partitions it is about to
//! change (so a process killed mid-write leaves them unknown, never
//! vouching for old contents), then writes the partitions, then the new
//! digests. The single `_summary.json` of earlier versions is not read;
//! the next write removes it.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::error::Result;
use crate::sync::index::IndexEntry;

/// The digest of one partition's entries, in key order; `None` when an
/// entry has no hash. FNV-1a (the `fnv` crate): a fixed, specified
/// function, so a digest written by one build is understood by the next.
pub fn digest_entries<'a>(
    entries: impl IntoIterator<Item = (&'a String, &'a IndexEntry)>,
) -> Option<u64> {
    let mut h = fnv::FnvHasher::default();
    for (rel, e) in entries {
        let sha = e.sha256.as_deref()?;
        h.write(rel.as_bytes());
        h.write_u8(0);
        h.write(sha.as_bytes());
        h.write_u8(0);
        h.write_u64(e.size);
    }
    Some(h.finish())
}

/// The digests on disk, by partition file stem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    version: u32,
    /// Hex digest by stem.
    partitions: BTreeMap<String, String>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            version: 1,
            partitions: BTreeMap::new(),
        }
    }
}

impl Summary {
    /// The digest recorded for `stem`.
    pub fn get(&self, stem: &str) -> Option<u64> {
        self.partitions
            .get(stem)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
    }

    /// Record (or, with `None`, forget) the digest of `stem`.
    pub fn set(&mut self, stem: &str, digest: Option<u64>) {
        match digest {
            Some(d) => {
                self.partitions
                    .insert(stem.to_string(), format!("{d:016x}"));
            }
            None => {
                self.partitions.remove(stem);
            }
        }
    }

    /// True when a digest is recorded for `stem`.
    pub fn has(&self, stem: &str) -> bool {
        self.partitions.contains_key(stem)
    }

    /// Read from the summary directory `dir` the buckets that hold
    /// `stems` (all of them for `None`); `None` when there is no summary.
    /// A bucket missing, unreadable or not ours adds nothing.
    pub fn read(dir: &Path, stems: Option<&BTreeSet<String>>) -> Result<Option<Summary>> {
        if !dir.is_dir() {
            return Ok(None);
        }
        let buckets = match stems {
            Some(stems) => buckets_of(stems.iter()),
            None => (0..BUCKETS).collect(),
        };
        let mut out = Summary::default();
        for b in buckets {
            if let Some(part) = atomic_file::read_optional(&bucket_file(dir, b))?
                .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok())
                .filter(|s| s.version == 1)
            {
                out.partitions.extend(
                    part.partitions
                        .into_iter()
                        .filter(|(stem, _)| bucket_of(stem) == b),
                );
            }
        }
        Ok(Some(out))
    }

    /// Write this summary's digests of the buckets `buckets` into `dir`,
    /// each atomically and durably; a bucket left without digests is
    /// removed. This is how digests are dropped before their partitions
    /// change: a power failure must not bring back a digest that vouches
    /// for a partition's old content.
    pub fn write(&self, dir: &Path, buckets: &BTreeSet<u32>) -> Result<()> {
        self.write_buckets(dir, buckets, atomic_file::write_atomic)
    }

    /// [`Summary::write`] once the partitions these digests describe are
    /// on disk, without waiting for the disk: a bucket lost to a power
    /// failure comes back as it was after the drop (without these
    /// digests) or empty, and either way its partitions are read, never
    /// trusted. Spares a push after one edit two of its fsyncs.
    pub fn write_after_partitions(&self, dir: &Path, buckets: &BTreeSet<u32>) -> Result<()> {
        self.write_buckets(dir, buckets, atomic_file::write_atomic_unsynced)
    }

    fn write_buckets(
        &self,
        dir: &Path,
        buckets: &BTreeSet<u32>,
        replace: fn(&Path, &[u8]) -> Result<()>,
    ) -> Result<()> {
        // Only a cache: a file where the directory belongs goes.
        if dir.exists() && !dir.is_dir() {
            atomic_file::remove_if_present(dir)?;
        }
        atomic_file::create_dir_all(dir)?;
        for &b in buckets {
            let part = Summary {
                version: 1,
                partitions: self
                    .partitions
                    .iter()
                    .filter(|(stem, _)| bucket_of(stem) == b)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            };
            let path = bucket_file(dir, b);
            if part.partitions.is_empty() {
                atomic_file::remove_if_present(&path)?;
            } else {
                let bytes = serde_json::to_vec(&part).unwrap_or_default();
                replace(&path, &bytes)?;
            }
        }
        Ok(())
    }
}

/// Buckets of the summary.
pub const BUCKETS: u32 = 64;

/// The bucket holding the digest of partition `stem` (FNV-1a, fixed like
/// the digests).
pub fn bucket_of(stem: &str) -> u32 {
    let mut h = fnv::FnvHasher::default();
    h.write(stem.as_bytes());
    (h.finish() % u64::from(BUCKETS)) as u32
}

/// The buckets holding `stems`.
pub fn buckets_of<'a>(stems: impl IntoIterator<Item = &'a String>) -> BTreeSet<u32> {
    stems.into_iter().map(|s| bucket_of(s)).collect()
}

fn bucket_file(dir: &Path, b: u32) -> std::path::PathBuf {
    dir.join(format!("{b:02x}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(sha: Option<&str>, size: u64) -> IndexEntry {
        IndexEntry {
            key: String::new(),
            size,
            last_modified: "x".into(),
            local_mtime: Some("local".into()),
            sha256: sha.map(Into::into),
        }
    }

    #[test]
    fn the_digest_sees_keys_hashes_and_sizes_and_nothing_else() {
        let mut a = BTreeMap::new();
        a.insert("d/1".to_string(), e(Some("aa"), 3));
        a.insert("d/2".to_string(), e(Some("bb"), 4));
        let d = digest_entries(&a);
        assert!(d.is_some());
        let mut other_times = a.clone();
        other_times.get_mut("d/1").unwrap().local_mtime = None;
        other_times.get_mut("d/1").unwrap().last_modified = "y".into();
        assert_eq!(
            digest_entries(&other_times),
            d,
            "per-machine fields ignored"
        );
        for change in [
            |m: &mut BTreeMap<String, IndexEntry>| m.get_mut("d/1").unwrap().size = 5,
            |m: &mut BTreeMap<String, IndexEntry>| {
                m.get_mut("d/2").unwrap().sha256 = Some("cc".into())
            },
            |m: &mut BTreeMap<String, IndexEntry>| {
                m.remove("d/2");
            },
            |m: &mut BTreeMap<String, IndexEntry>| {
                let v = m.remove("d/2").unwrap();
                m.insert("d/3".into(), v);
            },
        ] {
            let mut m = a.clone();
            change(&mut m);
            assert_ne!(digest_entries(&m), d);
        }
        // Field boundaries count: "d/1"+"aa" is not "d/1a"+"a".
        let mut x = BTreeMap::new();
        x.insert("d/1a".to_string(), e(Some("a"), 3));
        let mut y = BTreeMap::new();
        y.insert("d/1".to_string(), e(Some("aa"), 3));
        assert_ne!(digest_entries(&x), digest_entries(&y));
        a.get_mut("d/2").unwrap().sha256 = None;
        assert_eq!(digest_entries(&a), None, "an unhashed entry: no digest");
    }

    #[test]
    fn round_trips_by_bucket_and_ignores_what_is_not_ours() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("_summary");
        assert_eq!(Summary::read(&p, None).unwrap(), None);
        // Stems in at least two buckets.
        let stems: Vec<String> = (0..20).map(|i| format!("data--t--m{i}")).collect();
        assert!(buckets_of(&stems).len() > 1);
        let mut s = Summary::default();
        for (i, stem) in stems.iter().enumerate() {
            s.set(stem, Some(i as u64));
        }
        s.set("gone", Some(1));
        s.set("gone", None);
        s.write(&p, &(0..BUCKETS).collect()).unwrap();
        let back = Summary::read(&p, None).unwrap().unwrap();
        assert_eq!(back, s);
        // A read for some stems reads only their buckets.
        let one: BTreeSet<String> = [stems[0].clone()].into();
        let part = Summary::read(&p, Some(&one)).unwrap().unwrap();
        assert_eq!(part.get(&stems[0]), Some(0));
        for stem in &stems {
            let same = bucket_of(stem) == bucket_of(&stems[0]);
            assert_eq!(part.has(stem), same, "{stem}");
        }
        // A write of one bucket leaves the others; emptied, it goes.
        let mut fewer = part.clone();
        for stem in &stems {
            fewer.set(stem, None);
        }
        fewer.write(&p, &buckets_of(&one)).unwrap();
        assert!(
            !p.join(format!("{:02x}.json", bucket_of(&stems[0])))
                .exists()
        );
        let back = Summary::read(&p, None).unwrap().unwrap();
        for stem in &stems {
            assert_eq!(
                back.has(stem),
                bucket_of(stem) != bucket_of(&stems[0]),
                "{stem}"
            );
        }
        // A corrupt bucket adds nothing; the others still count.
        // (Checked below, after a file in the directory's place is
        // replaced by the next write.)
        let blocked = d.path().join("blocked");
        std::fs::write(&blocked, b"x").unwrap();
        assert_eq!(Summary::read(&blocked, None).unwrap(), None);
        s.write(&blocked, &(0..BUCKETS).collect()).unwrap();
        assert_eq!(Summary::read(&blocked, None).unwrap().unwrap(), s);
        let other = stems
            .iter()
            .find(|s| bucket_of(s) != bucket_of(&stems[0]))
            .unwrap();
        std::fs::write(p.join(format!("{:02x}.json", bucket_of(other))), b"{nope").unwrap();
        let back = Summary::read(&p, None).unwrap().unwrap();
        for stem in &stems {
            let kept =
                bucket_of(stem) != bucket_of(&stems[0]) && bucket_of(stem) != bucket_of(other);
            assert_eq!(back.has(stem), kept, "{stem}");
        }
    }
}
