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
//! `_index/.local-base/_summary.json`: `{"version":1,"partitions":{stem:
//! "16 hex digits"}}`. It is only a cache: missing or unreadable, every
//! partition is read. A write first drops the digests of the partitions it
//! is about to change (so a process killed mid-write leaves them unknown,
//! never vouching for old contents), then writes the partitions, then the
//! new digests.

use std::collections::BTreeMap;
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

    /// Read `path`; `None` when missing or not ours.
    pub fn read(path: &Path) -> Result<Option<Summary>> {
        Ok(atomic_file::read_optional(path)?
            .and_then(|b| serde_json::from_slice::<Summary>(&b).ok())
            .filter(|s| s.version == 1))
    }

    /// Write to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        atomic_file::write_atomic(path, &bytes)
    }
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
    fn round_trips_and_ignores_what_is_not_ours() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("_summary.json");
        assert_eq!(Summary::read(&p).unwrap(), None);
        let mut s = Summary::default();
        s.set("data--t--a", Some(u64::MAX));
        s.set("gone", Some(1));
        s.set("gone", None);
        s.write(&p).unwrap();
        let back = Summary::read(&p).unwrap().unwrap();
        assert_eq!(back.get("data--t--a"), Some(u64::MAX));
        assert!(!back.has("gone"));
        std::fs::write(&p, b"{nope").unwrap();
        assert_eq!(Summary::read(&p).unwrap(), None);
    }
}
