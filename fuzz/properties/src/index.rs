//! Every index and state format the sync engine parses: the monolithic
//! index `.datastore-index.json` (v1), the v2 shard files
//! `_index/{partition}.json` and their `_index/_meta.json`, and the local
//! sidecar `.datastore-sync-state.json`. Each input goes through all four
//! parsers: the formats share their JSON shapes, so one corpus serves them.

use std::collections::BTreeMap;

use swamp_datastore_sdk::Error;
use swamp_datastore_sdk::rel_path::is_within;
use swamp_datastore_sdk::sync::index::{Index, IndexEntry};
use swamp_datastore_sdk::sync::rules;
use swamp_datastore_sdk::sync::shards::{self, Meta, Shard};
use swamp_datastore_sdk::sync::state::Sidecar;

use crate::assert_clean_rel;

const SOURCE: &str = "s3://fuzz/p/.datastore-index.json";

/// The `index` target.
pub fn index(data: &[u8]) {
    monolith(data);
    shard(data);
    meta(data);
    sidecar(data);
}

/// A refusal is `corrupt-data` naming what was read.
fn assert_corrupt(r: Error) {
    match r {
        Error::CorruptData(m) => assert!(m.contains(SOURCE), "message names no source: {m}"),
        other => panic!("a bad index must be corrupt-data, got {other:?}"),
    }
}

/// What survives parsing is safe to act on: every key a clean relative
/// path that may sync, and each entry's `key` its map key.
fn assert_kept_entries(entries: &BTreeMap<String, IndexEntry>) {
    for (rel, e) in entries {
        assert_eq!(&e.key, rel, "an entry's key differs from its rel");
        assert_clean_rel(rel, "index key");
        assert!(!rules::is_never_synced(rel), "{rel:?} must never sync");
    }
}

/// `Index::under(dir)` returns exactly the entries equal to or below `dir`.
fn assert_under(idx: &Index) {
    for rel in idx.entries.keys().take(4) {
        let mut dir = String::new();
        for seg in rel.split('/') {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(seg);
            let got: Vec<&str> = idx.under(&dir).map(|e| e.key.as_str()).collect();
            let want: Vec<&str> = idx
                .entries
                .keys()
                .filter(|k| is_within(k, &dir))
                .map(String::as_str)
                .collect();
            assert_eq!(got, want, "under({dir:?})");
        }
    }
}

fn monolith(data: &[u8]) {
    match Index::parse(data, SOURCE) {
        Ok((idx, _)) => {
            assert_eq!(idx.version, 1);
            assert_kept_entries(&idx.entries);
            // The local base's journal of a pull in progress: its keys are
            // files the engine renames into place or deletes.
            for rel in idx.pending.keys() {
                assert_clean_rel(rel, "pending key");
                assert!(!rules::is_never_synced(rel), "{rel:?} must never sync");
            }
            assert_under(&idx);
            // What we write (compact remote form, pretty local form) reads
            // back to the same entries with nothing left to scrub.
            for bytes in [idx.clone().to_compact(), idx.clone().to_pretty()] {
                let (back, scrubbed) = Index::parse(&bytes, SOURCE).expect("own index re-reads");
                assert_eq!(scrubbed, 0);
                assert_eq!(back.entries, idx.entries);
                assert_eq!(back.pending, idx.pending);
            }
        }
        Err(e) => assert_corrupt(e),
    }
}

fn shard(data: &[u8]) {
    match Shard::parse(data, SOURCE) {
        Ok((s, _)) => {
            assert_eq!(s.version, 1);
            assert_kept_entries(&s.entries);
            // Unknown fields are kept: a rewrite reads back identical.
            let (back, scrubbed) = Shard::parse(&s.to_compact(), SOURCE).expect("own shard");
            assert_eq!(scrubbed, 0);
            assert_eq!(back, s);
        }
        Err(e) => assert_corrupt(e),
    }
}

fn meta(data: &[u8]) {
    match Meta::parse(data, SOURCE) {
        Ok(m) => {
            assert!(matches!(m.version, 1 | 2));
            // A listed partition names one file directly inside `_index/`,
            // never a path elsewhere in the bucket or the cache.
            for pk in &m.partitions {
                let f = shards::shard_file(pk);
                assert_clean_rel(&f, "shard file");
                assert_eq!(f.matches('/').count(), 1, "shard file {f:?} leaves _index/");
                assert_ne!(f, shards::META_FILE);
            }
            assert_eq!(Meta::parse(&m.to_compact(), SOURCE).expect("own meta"), m);
            // The next commit goes strictly up and keeps every partition.
            let next = m.next_v2(["_root".to_string()]);
            let seq = next.commit_seq.expect("a v2 meta has a commitSeq");
            assert!(seq > m.commit_seq.unwrap_or(0), "commitSeq did not go up");
            assert!(m.partitions.iter().all(|p| next.partitions.contains(p)));
            assert_eq!(Meta::parse(&next.to_compact(), SOURCE).expect("next"), next);
            for path in ["data/t/m", "data/t/m/n/1/raw", "x.json", "audit"] {
                for pk in shards::shards_touching(path, &m.partitions) {
                    assert!(m.partitions.iter().any(|p| p == pk));
                }
            }
        }
        Err(e) => assert_corrupt(e),
    }
}

fn sidecar(data: &[u8]) {
    let s = Sidecar::from_json(data);
    assert_eq!(s.version, 2);
    assert!(
        s.commit_seq.is_none() || s.remote_index_fingerprint.is_none(),
        "synced with two index versions at once"
    );
    // Every path the push planner will stat, walk or delete below is a
    // clean relative path inside the cache.
    for p in s.dirty.recorded_paths() {
        assert_clean_rel(&p, "dirty path");
    }
    // Our own sidecar reads back exactly.
    assert_eq!(Sidecar::from_json(&s.to_json()), s, "sidecar round trip");
    // What the engine does next with a loaded state goes forward in epochs
    // and clears what a completed push covered.
    let mut d = s.dirty.clone();
    let start = d.epoch;
    d.mark_path("data/fuzz/x");
    d.mark_bulk();
    let through = d.begin_prepare();
    assert!(through >= start, "epoch went backwards");
    d.mark_path("data/fuzz/y");
    assert!(d.epoch >= through, "epoch went backwards");
    let covered = d.recorded_paths();
    d.clear_through(d.epoch, &covered, true);
    assert!(!d.is_dirty(), "a push covering everything left it dirty");
}
