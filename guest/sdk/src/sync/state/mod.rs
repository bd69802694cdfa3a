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
//! makes the next push walk everything (markDirty rule 4) and the next
//! pull compare every file. Nothing is lost by that; it only costs time.
//!
//! # Sidecar format (shared with swamp's TypeScript client)
//!
//! The original's format is described in docs/contract.md §5.7.
//!
//! We write the original's version 2 shape, with the original's field names
//! and types, plus one key of our own that it ignores:
//!
//! ```json
//! { "version": 2, "remoteIndexETag": "abc", "lastVerifiedAt": "…Z",
//!   "localDirty": true, "dirtyPaths": ["data/m1"], "bulkInvalidated": false,
//!   "lazyPullActive": false, "dirtyPathsOverflowed": false, "commitSeq": 7,
//!   "wasm": { "epoch": 3, "pathEpochs": {"data/m1": 3}, "bulkSince": null,
//!             "preparePending": null, "fingerprint": "\"abc\"" } }
//! ```
//!
//! * `remoteIndexETag`: the monolith fingerprint without quotes, or "" when
//!   unknown, when synced with a shard-first index (then `commitSeq` is
//!   set), or when it looks like a multipart ETag (`…-<digits>`) — the
//!   original refuses to record those. The fs share's `{size}-{mtime}`
//!   fingerprint looks like one, so it is only kept in `wasm.fingerprint`
//!   (the original never reads an fs share anyway). `wasm.fingerprint` is
//!   our exact fingerprint, quotes included, compared only with our own
//!   remote's.
//! * `lastVerifiedAt` is forced past the base index's mtime (+1 ms), as the
//!   original's ETag fast path requires.
//! * Reading our own sidecar gives back the exact state, provided the shared
//!   fields still say what `wasm` says; when they do not (the original
//!   rewrote the file and kept our key), the shared fields win, imported as
//!   below.
//! * Reading the original's v2 sidecar (no `wasm`) imports it
//!   conservatively: `dirtyPaths` become dirty paths at a fresh epoch;
//!   `bulkInvalidated`, `dirtyPathsOverflowed`, `localDirty` without paths,
//!   missing fields, a path that is not a clean relative path, or a
//!   namespaced cache (`dataKeyMigrated`) mean bulk. The fingerprint
//!   (`remoteIndexETag`, `commitSeq`) is never imported: the original records
//!   it after a pull that compares sizes only, and reconciles against its own
//!   local index, so it does not promise what ours does ("every file agrees
//!   with the remote index at that version"). The next sync compares in full.
//! * A v1 sidecar, our old v3 format, anything else ⇒ unknown history.
//!
//! # Where the code is
//!
//! This file holds the state as the engine uses it ([`Sidecar`],
//! [`Synced`]); `wire` the sidecar's JSON shape and its conversion both
//! ways (the format above); `files` the reading and writing of both files
//! ([`StateFiles`]); `tests` the tests of all three.

mod files;
mod wire;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::sync::dirty::DirtyState;
use crate::sync::remote::Fingerprint;

pub use files::StateFiles;
use wire::unquote;

/// Format version of the sidecar: swamp's v2, which we extend.
const SIDECAR_VERSION: u32 = 2;

/// The sidecar's state, as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    /// Always `SIDECAR_VERSION`.
    pub version: u32,
    /// Fingerprint of the remote monolithic index the cache was fully
    /// reconciled with (layout v1).
    pub remote_index_fingerprint: Option<Fingerprint>,
    /// `commitSeq` of the shard-first index (layout v2) the cache was fully
    /// reconciled with. At most one of the two is set.
    pub commit_seq: Option<u64>,
    /// ISO time of the last write.
    pub last_verified_at: String,
    /// The last full pull skipped content (metadata-only).
    pub lazy_pull_active: bool,
    /// Dirty tracking.
    pub dirty: DirtyState,
    /// The history came from the original's sidecar: the next push walks
    /// the whole tree even when only paths are marked, so that it can check
    /// every file against the index it commits and record that index's
    /// real fingerprint (otherwise nothing would, and every later sync of
    /// either client would take its slow path until a full pull). Cleared by
    /// the first push that walked everything.
    pub verify_on_push: bool,
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
            verify_on_push: false,
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

    /// Record what the cache is now reconciled with (`None`: unknown). An
    /// empty fingerprint (a remote that gave none) is not a version: it is
    /// recorded as unknown, as the original does.
    pub fn set_synced(&mut self, v: Option<Synced>) {
        self.remote_index_fingerprint = None;
        self.commit_seq = None;
        match v {
            Some(Synced::Monolith(fp)) if !unquote(&fp.0).is_empty() => {
                self.remote_index_fingerprint = Some(fp)
            }
            Some(Synced::Sharded(seq)) => self.commit_seq = Some(seq),
            _ => {}
        }
    }
}
