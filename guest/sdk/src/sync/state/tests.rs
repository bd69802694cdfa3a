//! Tests of the sidecar's format and the state files, together: most
//! check the format through a write and a read on disk, as the engine
//! uses it, so they exercise `wire` and `files` at once.

use std::path::Path;

use super::*;
use crate::iso_time;
use crate::sync::dirty::Walk;
use crate::sync::rules::{INDEX_FILE, SIDECAR_FILE};
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
