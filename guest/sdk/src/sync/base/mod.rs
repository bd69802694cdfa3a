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
//! * `_index/.local-base/_summary/`: a digest per partition, in buckets
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
//!
//! # Where the code is
//!
//! This file holds the layout (the directory, its file names, the listing
//! of partition files) and what a read hands to a write ([`Loaded`],
//! [`Covered`]); `partition` which partition file an entry is stored in;
//! `read` the three ways of reading the base; `write` the write that
//! rewrites only what changed; `tests` the tests of reading and writing
//! together.
//!
//! [`Index::pending`]: crate::sync::index::Index::pending

mod partition;
mod read;
mod write;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::error::{Error, Result};

pub use partition::digests_by_stem;
pub(crate) use partition::{stem_of, stem_of_rel};

/// The directory of the partition files, relative to a root.
pub const BASE_DIR: &str = "_index/.local-base";
/// The pull's journal, inside [`BASE_DIR`].
const PENDING_FILE: &str = "_pending.json";
/// The partition digests, inside [`BASE_DIR`].
const SUMMARY_DIR: &str = "_summary";
/// Where earlier versions kept them all in one file (removed by a write).
const OLD_SUMMARY_FILE: &str = "_summary.json";

/// What a read took from disk: the digest of each partition file read,
/// and whether it read all of them. Travels inside the [`Index`] it
/// describes, so a write knows what it may leave alone.
///
/// [`Index`]: crate::sync::index::Index
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

fn digest(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
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
                && name != OLD_SUMMARY_FILE
                && !atomic_file::is_temp_name(name)
            {
                out.push(stem.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}
