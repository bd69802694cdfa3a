//! Reading and writing the state files of one root: the sidecar
//! (atomically, with the `lastVerifiedAt` rule) and, through
//! [`BaseFiles`], the base index. Kept apart from the sidecar's format so
//! that the format stays pure (checkable and fuzzable without a disk) and
//! the file handling has one home.

use std::path::{Path, PathBuf};

use super::{SIDECAR_VERSION, Sidecar};
use crate::atomic_file;
use crate::error::Result;
use crate::iso_time;
use crate::sync::base::BaseFiles;
use crate::sync::index::Index;
use crate::sync::rules::{INDEX_FILE, SIDECAR_FILE};

/// Where one root keeps its state files.
#[derive(Debug, Clone)]
pub struct StateFiles {
    sidecar: PathBuf,
    base: BaseFiles,
}

impl StateFiles {
    /// The state files of the cache tree at `root`.
    pub fn at(root: &Path) -> StateFiles {
        StateFiles {
            sidecar: root.join(SIDECAR_FILE),
            base: BaseFiles::at(root, root.join(INDEX_FILE)),
        }
    }

    /// Read the sidecar (ours exactly, the original's conservatively: see
    /// the `state` module docs); missing, corrupt or foreign ⇒
    /// [`Sidecar::unknown`] (a full walk, never an error: the sidecar is
    /// only a cache of state).
    pub fn load_sidecar(&self) -> Result<Sidecar> {
        let Some(bytes) = atomic_file::read_optional(&self.sidecar)? else {
            return Ok(Sidecar::unknown());
        };
        Ok(Sidecar::from_json(&bytes))
    }

    /// Write the sidecar atomically. `lastVerifiedAt` is now, but at least
    /// 1 ms past the base index's mtime (the original's pull fast path
    /// trusts the fingerprint only for an index older than that).
    pub fn save_sidecar(&self, s: &mut Sidecar) -> Result<()> {
        s.version = SIDECAR_VERSION;
        let mut at = iso_time::now();
        if let Ok(m) = std::fs::metadata(self.base.changed_marker()).and_then(|m| m.modified()) {
            let floor = time::OffsetDateTime::from(m) + time::Duration::milliseconds(1);
            if floor > at {
                at = floor;
            }
        }
        s.last_verified_at = iso_time::format_millis(at);
        atomic_file::write_atomic(&self.sidecar, &s.to_json())
    }

    /// Read the whole base index. Missing ⇒ empty. Corrupt ⇒ empty and
    /// `false` (the caller then forgets the fingerprint and forces a full
    /// walk).
    pub fn load_base(&self) -> Result<(Index, bool)> {
        self.base.load()
    }

    /// Read the base entries at or below `paths` (and possibly others),
    /// reading only the partitions that can hold them (`sync::base`).
    pub fn load_base_for(&self, paths: &[String]) -> Result<(Index, bool)> {
        self.base.load_for(paths)
    }

    /// Read the journal and the base partitions where the base may
    /// disagree with the remote entries `remote` (`BaseFiles::load_changed`).
    pub fn load_base_changed(
        &self,
        remote: &std::collections::BTreeMap<String, crate::sync::index::IndexEntry>,
    ) -> Result<(Index, bool, crate::sync::base::Covered)> {
        self.base.load_changed(remote)
    }

    /// Read the base entries of the files `files`, from their own
    /// partitions only (`BaseFiles::load_for_files`).
    pub fn load_base_for_files(&self, files: &[String]) -> Result<(Index, bool)> {
        self.base.load_for_files(files)
    }

    /// True when the base is kept by partition or there is none yet
    /// (`BaseFiles::is_partitioned`).
    pub fn base_is_partitioned(&self) -> bool {
        self.base.is_partitioned()
    }

    /// The stems of the base's partition files.
    pub fn base_stems(&self) -> Result<Vec<String>> {
        self.base.partition_stems()
    }

    /// Read the base partitions `stems` alone (`BaseFiles::load_stems`).
    pub fn load_base_stems(
        &self,
        stems: &std::collections::BTreeSet<String>,
    ) -> Result<(Index, bool)> {
        self.base.load_stems(stems)
    }

    /// Read the pull's journal with the partitions it names
    /// (`BaseFiles::load_journal`).
    pub fn load_base_journal(&self) -> Result<(Index, bool)> {
        self.base.load_journal()
    }

    /// Read the base partitions among `stems` that may disagree with
    /// `remote` (`BaseFiles::load_changed_within`).
    pub fn load_base_changed_within(
        &self,
        remote: &std::collections::BTreeMap<String, crate::sync::index::IndexEntry>,
        stems: &std::collections::BTreeSet<String>,
    ) -> Result<(Index, bool, crate::sync::base::Covered)> {
        self.base.load_changed_within(remote, stems)
    }

    /// Write the base back: what changed since it was read.
    pub fn save_base(&self, idx: &mut Index) -> Result<()> {
        self.base.save(idx)
    }

    /// Sidecar and base together; a corrupt base also invalidates the
    /// sidecar's fingerprint and forces a full walk.
    pub fn load(&self) -> Result<(Sidecar, Index)> {
        let mut side = self.load_sidecar()?;
        let (base, ok) = self.load_base()?;
        Self::distrust_unless(&mut side, ok);
        Ok((side, base))
    }

    /// What [`StateFiles::load`] does to the sidecar when the base it read
    /// with it was corrupt (`ok` false): forget the fingerprint, walk all.
    pub fn distrust_unless(side: &mut Sidecar, ok: bool) {
        if !ok {
            side.set_synced(None);
            side.dirty.mark_bulk();
        }
    }
}
