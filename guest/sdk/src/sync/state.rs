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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::error::Result;
use crate::iso_time;
use crate::rel_path::RelPath;
use crate::sync::base::BaseFiles;
use crate::sync::dirty::DirtyState;
use crate::sync::index::Index;
use crate::sync::remote::Fingerprint;
use crate::sync::rules::{INDEX_FILE, SIDECAR_FILE};

/// Format version of the sidecar: swamp's v2, which we extend.
const SIDECAR_VERSION: u32 = 2;

/// Largest epoch our extension may carry (2^53 − 1: swamp's client keeps
/// our key when it rewrites the sidecar, and holds no larger integer
/// exactly; marking one change at a time never gets near it).
const MAX_EPOCH: u64 = (1 << 53) - 1;

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

impl Sidecar {
    /// The state sidecar bytes describe: ours exactly, the original's
    /// conservatively (module docs); corrupt or foreign ⇒ [`Sidecar::unknown`].
    /// Pure, so the format can be checked (and fuzzed) without a disk.
    pub fn from_json(bytes: &[u8]) -> Sidecar {
        match serde_json::from_slice::<Wire>(bytes) {
            Ok(w) => w.into_state(),
            Err(_) => Sidecar::unknown(),
        }
    }

    /// The sidecar bytes for this state (pretty JSON, as written to disk).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&Wire::from_state(self)).unwrap_or_default()
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

/// An ETag without its quotes (and weak prefix), as the original stores it.
fn unquote(etag: &str) -> &str {
    let e = etag.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    e.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(e)
}

/// True for what the original refuses to record: "" and multipart-looking
/// ETags (`…-<digits>`).
fn refused_etag(etag: &str) -> bool {
    if etag.is_empty() {
        return true;
    }
    match etag.rsplit_once('-') {
        Some((_, n)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// The value of the shared `remoteIndexETag` field for `fp`.
fn shared_etag(fp: Option<&Fingerprint>, commit_seq: Option<u64>) -> String {
    match (commit_seq, fp) {
        (None, Some(fp)) => {
            let e = unquote(&fp.0);
            if refused_etag(e) {
                String::new()
            } else {
                e.to_string()
            }
        }
        _ => String::new(),
    }
}

/// The sidecar on disk: swamp's v2 fields plus our extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    version: u32,
    #[serde(default)]
    remote_index_e_tag: Option<String>,
    #[serde(default)]
    last_verified_at: Option<String>,
    #[serde(default)]
    local_dirty: Option<bool>,
    #[serde(default)]
    dirty_paths: Option<Vec<String>>,
    #[serde(default)]
    bulk_invalidated: Option<bool>,
    #[serde(default)]
    lazy_pull_active: Option<bool>,
    #[serde(default)]
    dirty_paths_overflowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit_seq: Option<u64>,
    /// Only read, to spot a namespaced cache of the original.
    #[serde(default, skip_serializing)]
    data_key_migrated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wasm: Option<Ext>,
}

/// Our extension: what the shared fields cannot say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ext {
    epoch: u64,
    #[serde(default)]
    path_epochs: BTreeMap<String, u64>,
    #[serde(default)]
    bulk_since: Option<u64>,
    #[serde(default)]
    prepare_pending: Option<u64>,
    /// The exact monolith fingerprint (quotes included).
    #[serde(default)]
    fingerprint: Option<Fingerprint>,
    /// [`Sidecar::verify_on_push`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    verify_on_push: bool,
}

impl Wire {
    fn from_state(s: &Sidecar) -> Wire {
        let d = &s.dirty;
        Wire {
            version: SIDECAR_VERSION,
            remote_index_e_tag: Some(shared_etag(
                s.remote_index_fingerprint.as_ref(),
                s.commit_seq,
            )),
            last_verified_at: Some(s.last_verified_at.clone()),
            local_dirty: Some(d.is_dirty()),
            dirty_paths: Some(d.dirty_paths.keys().cloned().collect()),
            bulk_invalidated: Some(d.bulk_since.is_some()),
            lazy_pull_active: Some(s.lazy_pull_active),
            dirty_paths_overflowed: Some(d.overflowed),
            commit_seq: s.commit_seq,
            data_key_migrated: None,
            wasm: Some(Ext {
                epoch: d.epoch,
                path_epochs: d.dirty_paths.clone(),
                bulk_since: d.bulk_since,
                prepare_pending: d.prepare_pending,
                fingerprint: s
                    .commit_seq
                    .is_none()
                    .then(|| s.remote_index_fingerprint.clone())
                    .flatten(),
                verify_on_push: s.verify_on_push,
            }),
        }
    }

    /// The state this sidecar describes.
    fn into_state(self) -> Sidecar {
        if self.version != SIDECAR_VERSION {
            return Sidecar::unknown();
        }
        if let Some(own) = self.own_state()
            && Wire::from_state(&own).shared_eq(&self)
        {
            return own;
        }
        self.imported()
    }

    /// The exact state from our extension, if there is one we can trust.
    fn own_state(&self) -> Option<Sidecar> {
        let x = self.wasm.as_ref()?;
        // Caught by the `index` fuzz properties (fuzz/regressions/index): a path
        // here is handed to the push planner, which stats, walks and
        // deletes below it, so it must be a clean relative path like every
        // other; epochs must leave room to count on (u64::MAX overflowed
        // the next mark) and none may run ahead of the counter (such a path
        // stayed dirty after every push). Otherwise the extension is
        // ignored and the shared fields are imported (checked) instead.
        let clean = x.path_epochs.keys().all(|p| RelPath::is_normal(p));
        let counted = x.epoch <= MAX_EPOCH
            && x.path_epochs
                .values()
                .chain(x.bulk_since.iter())
                .chain(x.prepare_pending.iter())
                .all(|e| *e <= x.epoch);
        if !(clean && counted) {
            return None;
        }
        let mut s = Sidecar {
            version: SIDECAR_VERSION,
            remote_index_fingerprint: None,
            commit_seq: None,
            last_verified_at: self.last_verified_at.clone().unwrap_or_default(),
            lazy_pull_active: self.lazy_pull_active.unwrap_or(false),
            dirty: DirtyState {
                epoch: x.epoch,
                dirty_paths: x.path_epochs.clone(),
                bulk_since: x.bulk_since,
                overflowed: self.dirty_paths_overflowed.unwrap_or(false),
                prepare_pending: x.prepare_pending,
            },
            verify_on_push: x.verify_on_push,
        };
        s.set_synced(match (self.commit_seq, &x.fingerprint) {
            (Some(n), _) => Some(Synced::Sharded(n)),
            (None, Some(fp)) => Some(Synced::Monolith(fp.clone())),
            (None, None) => None,
        });
        Some(s)
    }

    /// Whether the fields the original reads and writes agree.
    fn shared_eq(&self, o: &Wire) -> bool {
        self.remote_index_e_tag == o.remote_index_e_tag
            && self.local_dirty == o.local_dirty
            && self.dirty_paths.as_deref().map(sorted) == o.dirty_paths.as_deref().map(sorted)
            && self.bulk_invalidated == o.bulk_invalidated
            && self.lazy_pull_active == o.lazy_pull_active
            && self.dirty_paths_overflowed == o.dirty_paths_overflowed
            && self.commit_seq == o.commit_seq
    }

    /// The original's sidecar, imported conservatively (module docs).
    fn imported(self) -> Sidecar {
        let paths = self.dirty_paths.unwrap_or_default();
        let clean_paths = paths.iter().all(|p| RelPath::is_normal(p));
        let bulk = self.bulk_invalidated != Some(false)
            || self.local_dirty.is_none()
            || self.dirty_paths_overflowed == Some(true)
            || (self.local_dirty == Some(true) && paths.is_empty())
            || self.data_key_migrated.is_some()
            || !clean_paths;
        let paths = if clean_paths { paths } else { Vec::new() };
        Sidecar {
            version: SIDECAR_VERSION,
            remote_index_fingerprint: None,
            commit_seq: None,
            last_verified_at: self.last_verified_at.unwrap_or_default(),
            lazy_pull_active: self.lazy_pull_active.unwrap_or(false),
            dirty: DirtyState::imported(paths, bulk),
            verify_on_push: true,
        }
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

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
    /// the module docs); missing, corrupt or foreign ⇒ [`Sidecar::unknown`]
    /// (a full walk, never an error: the sidecar is only a cache of state).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::dirty::Walk;
    use serde_json::{Value, json};

    fn write(d: &Path, v: Value) {
        std::fs::write(d.join(SIDECAR_FILE), serde_json::to_vec(&v).unwrap()).unwrap();
    }

    fn on_disk(d: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(d.join(SIDECAR_FILE)).unwrap()).unwrap()
    }

    #[test]
    fn missing_or_corrupt_state_means_unknown_history() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        let (s, b) = f.load().unwrap();
        assert_eq!(s, Sidecar::unknown());
        assert!(b.entries.is_empty());
        for bad in [
            json!("x"),
            json!({"version": 3, "remoteIndexFingerprint": "fp", "epoch": 1, "dirtyPaths": {}}),
            json!({"version": 2, "dirtyPaths": "nope"}),
            json!({"version": 2, "commitSeq": -1}),
        ] {
            write(d.path(), bad);
            assert_eq!(f.load_sidecar().unwrap(), Sidecar::unknown());
        }
        std::fs::write(d.path().join(SIDECAR_FILE), b"{garbage").unwrap();
        assert_eq!(f.load_sidecar().unwrap(), Sidecar::unknown());
    }

    #[test]
    fn an_untrustworthy_extension_is_ignored_and_the_shared_fields_checked() {
        let ours = |paths: Value, wasm: Value| {
            Sidecar::from_json(
                &serde_json::to_vec(&json!({"version": 2, "remoteIndexETag": "",
                    "localDirty": true, "dirtyPaths": paths, "bulkInvalidated": false,
                    "lazyPullActive": false, "dirtyPathsOverflowed": false, "wasm": wasm}))
                .unwrap(),
            )
        };
        // Trusted: kept exactly.
        let s = ours(
            json!(["data/a"]),
            json!({"epoch": 4, "pathEpochs": {"data/a": 3}}),
        );
        assert_eq!(
            (s.dirty.epoch, s.dirty.walk()),
            (4, Walk::Paths(vec!["data/a".into()]))
        );
        for (paths, wasm) in [
            // A traversing path: never handed to the planner; bulk instead.
            (
                json!(["../out"]),
                json!({"epoch": 2, "pathEpochs": {"../out": 2}}),
            ),
            // A counter with no room to count on, or a path ahead of it.
            (
                json!(["data/a"]),
                json!({"epoch": u64::MAX, "pathEpochs": {"data/a": 1}}),
            ),
            (
                json!(["data/a"]),
                json!({"epoch": 1, "pathEpochs": {"data/a": 9}}),
            ),
        ] {
            let s = ours(paths, wasm);
            assert_eq!(s.dirty.epoch, 1, "imported at a fresh epoch");
            assert!(s.dirty.recorded_paths().iter().all(|p| p == "data/a"));
        }
        assert_eq!(
            ours(
                json!(["../out"]),
                json!({"epoch": 2, "pathEpochs": {"../out": 2}})
            )
            .dirty
            .walk(),
            Walk::Full
        );
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

    #[test]
    fn our_state_round_trips_exactly() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        let mut s = Sidecar::unknown();
        s.dirty = DirtyState::default();
        s.dirty.mark_path("data/b");
        s.dirty.mark_path("data/a");
        s.dirty.begin_prepare();
        s.dirty.mark_path("data/b");
        s.lazy_pull_active = true;
        for synced in [
            Some(Synced::Monolith(Fingerprint("\"abc\"".into()))),
            // The fs share's stat fingerprint looks multipart: kept exactly.
            Some(Synced::Monolith(Fingerprint(
                "123-1700000000000000000".into(),
            ))),
            Some(Synced::Sharded(7)),
            None,
        ] {
            s.set_synced(synced.clone());
            f.save_sidecar(&mut s).unwrap();
            let back = f.load_sidecar().unwrap();
            assert_eq!(back, s);
            assert_eq!(back.synced(), synced);
        }
        // Bulk with overflow, too.
        s.dirty = DirtyState::default();
        for i in 0..=crate::sync::dirty::MAX_DIRTY_PATHS {
            s.dirty.mark_path(&format!("f{i}"));
        }
        assert!(s.dirty.overflowed);
        f.save_sidecar(&mut s).unwrap();
        assert_eq!(f.load_sidecar().unwrap(), s);
    }

    #[test]
    fn written_json_has_the_originals_fields_and_types() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        std::fs::write(d.path().join(INDEX_FILE), b"{}").unwrap();
        let mut s = Sidecar::unknown();
        s.dirty = DirtyState::default();
        s.dirty.mark_path("data/z");
        s.dirty.mark_path("data/a");
        s.set_synced(Some(Synced::Monolith(Fingerprint("\"abc123\"".into()))));
        f.save_sidecar(&mut s).unwrap();
        let v = on_disk(d.path());
        let o = v.as_object().unwrap();
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "bulkInvalidated",
                "dirtyPaths",
                "dirtyPathsOverflowed",
                "lastVerifiedAt",
                "lazyPullActive",
                "localDirty",
                "remoteIndexETag",
                "version",
                "wasm"
            ]
        );
        assert_eq!(v["version"], json!(2));
        assert_eq!(v["remoteIndexETag"], json!("abc123"));
        assert_eq!(v["localDirty"], json!(true));
        assert_eq!(v["dirtyPaths"], json!(["data/a", "data/z"]));
        assert_eq!(v["bulkInvalidated"], json!(false));
        assert_eq!(v["lazyPullActive"], json!(false));
        assert_eq!(v["dirtyPathsOverflowed"], json!(false));
        let at = v["lastVerifiedAt"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == 24, "{at}");
        let t = iso_time::parse(at).unwrap();
        let m = std::fs::metadata(d.path().join(INDEX_FILE))
            .unwrap()
            .modified()
            .unwrap();
        assert!(t > time::OffsetDateTime::from(m));

        // Shard-first: "" and a numeric commitSeq.
        s.set_synced(Some(Synced::Sharded(9)));
        s.dirty
            .clear_through(s.dirty.epoch, &s.dirty.recorded_paths(), true);
        f.save_sidecar(&mut s).unwrap();
        let v = on_disk(d.path());
        assert_eq!(v["remoteIndexETag"], json!(""));
        assert_eq!(v["commitSeq"], json!(9));
        assert_eq!(v["localDirty"], json!(false));
        assert_eq!(v["dirtyPaths"], json!([]));

        // Refused as an ETag: multipart-looking, empty; unknown.
        for fp in ["\"abc-12\"", "12-345", ""] {
            s.set_synced(Some(Synced::Monolith(Fingerprint(fp.into()))));
            f.save_sidecar(&mut s).unwrap();
            let v = on_disk(d.path());
            assert_eq!(v["remoteIndexETag"], json!(""), "{fp}");
            assert!(v.get("commitSeq").is_none());
        }
        // An empty fingerprint is not recorded at all.
        assert_eq!(s.synced(), None);
        s.set_synced(Some(Synced::Monolith(Fingerprint("\"\"".into()))));
        assert_eq!(s.synced(), None);
    }

    #[test]
    fn originals_v2_sidecar_is_imported_conservatively() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        let base = json!({
            "version": 2, "remoteIndexETag": "abc", "lastVerifiedAt": "2026-01-02T03:04:05.678Z",
            "localDirty": true, "dirtyPaths": ["data/m2", "data/m1"], "bulkInvalidated": false,
            "lazyPullActive": false, "dirtyPathsOverflowed": false
        });
        // Dirty paths: exactly those, at one fresh epoch; fingerprint unknown.
        write(d.path(), base.clone());
        let s = f.load_sidecar().unwrap();
        assert_eq!(s.synced(), None);
        assert_eq!(
            s.dirty.walk(),
            crate::sync::dirty::Walk::Paths(vec!["data/m1".into(), "data/m2".into()])
        );
        assert_eq!(s.dirty.prepare_pending, None);
        assert_eq!(s.last_verified_at, "2026-01-02T03:04:05.678Z");
        // Clean and synced at a commitSeq: clean, but fingerprint unknown.
        let mut v = base.clone();
        v["localDirty"] = json!(false);
        v["dirtyPaths"] = json!([]);
        v["remoteIndexETag"] = json!("");
        v["commitSeq"] = json!(12);
        v["lazyPullActive"] = json!(true);
        write(d.path(), v);
        let s = f.load_sidecar().unwrap();
        assert_eq!(s.synced(), None);
        assert_eq!(s.dirty.walk(), crate::sync::dirty::Walk::Clean);
        assert!(s.lazy_pull_active);
        // Anything bulk-like or doubtful: full walk.
        let doubtful = [
            ("bulkInvalidated", json!(true)),
            ("dirtyPathsOverflowed", json!(true)),
            ("dirtyPaths", json!([])),
            ("dirtyPaths", json!(["../escape"])),
            ("dirtyPaths", json!(["a//b"])),
            ("dataKeyMigrated", json!(true)),
        ];
        for (k, val) in doubtful {
            let mut v = base.clone();
            v[k] = val.clone();
            write(d.path(), v);
            let s = f.load_sidecar().unwrap();
            assert_eq!(s.dirty.walk(), crate::sync::dirty::Walk::Full, "{k}={val}");
            assert_eq!(s.synced(), None);
        }
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove("localDirty");
        write(d.path(), v);
        assert_eq!(
            f.load_sidecar().unwrap().dirty.walk(),
            crate::sync::dirty::Walk::Full
        );
    }

    #[test]
    fn v1_sidecar_means_unknown_history() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        write(
            d.path(),
            json!({"version": 1, "remoteIndexETag": "abc", "lastVerifiedAt": "2026-01-02T03:04:05.678Z", "localDirty": false}),
        );
        assert_eq!(f.load_sidecar().unwrap(), Sidecar::unknown());
    }

    #[test]
    fn a_rewrite_by_the_original_that_kept_our_key_wins() {
        let d = tempfile::tempdir().unwrap();
        let f = StateFiles::at(d.path());
        let mut s = Sidecar::unknown();
        s.dirty = DirtyState::default();
        s.set_synced(Some(Synced::Monolith(Fingerprint("\"abc\"".into()))));
        f.save_sidecar(&mut s).unwrap();
        assert_eq!(f.load_sidecar().unwrap(), s);
        // The original marked a path (spreading the old state, our key kept).
        let mut v = on_disk(d.path());
        v["localDirty"] = json!(true);
        v["dirtyPaths"] = json!(["data/x"]);
        write(d.path(), v.clone());
        let back = f.load_sidecar().unwrap();
        assert_eq!(back.synced(), None);
        assert_eq!(
            back.dirty.walk(),
            crate::sync::dirty::Walk::Paths(vec!["data/x".into()])
        );
        // The original pushed and recorded a new ETag.
        v["localDirty"] = json!(false);
        v["dirtyPaths"] = json!([]);
        v["remoteIndexETag"] = json!("def");
        write(d.path(), v);
        let back = f.load_sidecar().unwrap();
        assert_eq!(back.synced(), None);
    }
}
