//! Local sync state of one root, kept at the root of its cache tree:
//!
//! * the sidecar `.datastore-sync-state.json` — dirty state, the remote
//!   index fingerprint the cache was last reconciled with, the lazy flag.
//!   Small and rewritten on mark-dirty.
//! * the base `.datastore-index.json` — the index entries both sides agreed
//!   on at the last sync, with local mtimes (see `decide`).
//!
//! Both only cache knowledge that a full walk can rebuild, so a missing or
//! corrupt file is never an error: it is read as "history unknown", which
//! makes the next push walk everything (rule 4) and the next pull compare
//! every file. Nothing is lost by that; it only costs time.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::error::Result;
use crate::iso_time;
use crate::sync::dirty::DirtyState;
use crate::sync::index::Index;
use crate::sync::remote::Fingerprint;
use crate::sync::rules::{INDEX_FILE, SIDECAR_FILE};

/// Format version of our sidecar. swamp's TypeScript sidecars (versions 1
/// and 2) carry other fields; reading one counts as "no sidecar".
const SIDECAR_VERSION: u32 = 3;

/// The sidecar body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// Always [`SIDECAR_VERSION`].
    pub version: u32,
    /// Fingerprint of the remote monolithic index the cache was fully
    /// reconciled with (layout v1).
    #[serde(default)]
    pub remote_index_fingerprint: Option<Fingerprint>,
    /// `commitSeq` of the shard-first index (layout v2) the cache was fully
    /// reconciled with. At most one of the two is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_seq: Option<u64>,
    /// ISO time of the last write.
    #[serde(default)]
    pub last_verified_at: String,
    /// The last full pull skipped content (metadata-only).
    #[serde(default)]
    pub lazy_pull_active: bool,
    /// Dirty tracking.
    #[serde(flatten)]
    pub dirty: DirtyState,
}

impl Sidecar {
    /// The state of a root with no (readable) history.
    pub fn unknown() -> Sidecar {
        Sidecar {
            version: SIDECAR_VERSION,
            remote_index_fingerprint: None,
            commit_seq: None,
            last_verified_at: String::new(),
            lazy_pull_active: false,
            dirty: DirtyState::unknown(),
        }
    }
}

/// The version of the remote index a cache was reconciled with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Synced {
    /// The monolith, at this fingerprint (ETag).
    Monolith(Fingerprint),
    /// The shard-first index, at this `commitSeq`.
    Sharded(u64),
}

impl Sidecar {
    /// What the cache was last fully reconciled with.
    pub fn synced(&self) -> Option<Synced> {
        match (&self.commit_seq, &self.remote_index_fingerprint) {
            (Some(seq), _) => Some(Synced::Sharded(*seq)),
            (None, Some(fp)) => Some(Synced::Monolith(fp.clone())),
            (None, None) => None,
        }
    }

    /// Record what the cache is now reconciled with (`None`: unknown).
    pub fn set_synced(&mut self, v: Option<Synced>) {
        self.remote_index_fingerprint = None;
        self.commit_seq = None;
        match v {
            Some(Synced::Monolith(fp)) => self.remote_index_fingerprint = Some(fp),
            Some(Synced::Sharded(seq)) => self.commit_seq = Some(seq),
            None => {}
        }
    }
}

/// Where one root keeps its state files.
#[derive(Debug, Clone)]
pub struct StateFiles {
    sidecar: PathBuf,
    base: PathBuf,
}

impl StateFiles {
    /// The state files of the cache tree at `root`.
    pub fn at(root: &Path) -> StateFiles {
        StateFiles {
            sidecar: root.join(SIDECAR_FILE),
            base: root.join(INDEX_FILE),
        }
    }

    /// Read the sidecar; missing, corrupt or foreign ⇒ [`Sidecar::unknown`]
    /// (a full walk, never an error: the sidecar is only a cache of state).
    pub fn load_sidecar(&self) -> Result<Sidecar> {
        let Some(bytes) = atomic_file::read_optional(&self.sidecar)? else {
            return Ok(Sidecar::unknown());
        };
        match serde_json::from_slice::<Sidecar>(&bytes) {
            Ok(s) if s.version == SIDECAR_VERSION => Ok(s),
            _ => Ok(Sidecar::unknown()),
        }
    }

    /// Write the sidecar atomically.
    pub fn save_sidecar(&self, s: &mut Sidecar) -> Result<()> {
        s.version = SIDECAR_VERSION;
        s.last_verified_at = iso_time::now_millis();
        let bytes = serde_json::to_vec_pretty(s).unwrap_or_default();
        atomic_file::write_atomic(&self.sidecar, &bytes)
    }

    /// Read the base index. Missing ⇒ empty. Corrupt ⇒ empty and `false`
    /// (the caller then forgets the fingerprint and forces a full walk).
    pub fn load_base(&self) -> Result<(Index, bool)> {
        let Some(bytes) = atomic_file::read_optional(&self.base)? else {
            return Ok((Index::default(), true));
        };
        match Index::parse(&bytes, &self.base.display().to_string()) {
            Ok((idx, _)) => Ok((idx, true)),
            Err(_) => Ok((Index::default(), false)),
        }
    }

    /// Write the base index atomically (pretty JSON, like swamp's local copy).
    pub fn save_base(&self, idx: &mut Index) -> Result<()> {
        atomic_file::write_atomic(&self.base, &idx.to_pretty())
    }

    /// Sidecar and base together; a corrupt base also invalidates the
    /// sidecar's fingerprint and forces a full walk.
    pub fn load(&self) -> Result<(Sidecar, Index)> {
        let mut side = self.load_sidecar()?;
        let (base, ok) = self.load_base()?;
        if !ok {
            side.set_synced(None);
            side.dirty.mark_bulk();
        }
        Ok((side, base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_corrupt_state_means_unknown_history() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        let (s, b) = f.load().unwrap();
        assert_eq!(s, Sidecar::unknown());
        assert!(b.entries.is_empty());
        std::fs::write(d.path().join(SIDECAR_FILE), b"{garbage").unwrap();
        assert_eq!(f.load_sidecar().unwrap(), Sidecar::unknown());
        // swamp's own v2 sidecar is foreign to us.
        std::fs::write(
            d.path().join(SIDECAR_FILE),
            br#"{"version":2,"remoteIndexETag":"x","localDirty":false,"dirtyPaths":[]}"#,
        )
        .unwrap();
        assert_eq!(f.load_sidecar().unwrap(), Sidecar::unknown());
    }

    #[test]
    fn round_trip_and_corrupt_base_forces_full_walk() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        let mut s = Sidecar::unknown();
        s.dirty = DirtyState::default();
        s.remote_index_fingerprint = Some(Fingerprint("fp".into()));
        f.save_sidecar(&mut s).unwrap();
        assert_eq!(f.load_sidecar().unwrap(), s);
        std::fs::write(d.path().join(INDEX_FILE), b"nope").unwrap();
        let (s2, b) = f.load().unwrap();
        assert!(b.entries.is_empty());
        assert_eq!(s2.remote_index_fingerprint, None);
        assert!(s2.dirty.is_dirty());
    }
}
