//! A whole-tree pull of a v2 index goes a group of partitions at a time
//! (`pull_parts.rs`; unit tests close a group at 2 entries): remote edits,
//! deletions, partitions that come and go, local edits, a corrupt base
//! partition, a journal left by an interrupted pull, and a shard that lists
//! another partition's file. A push after a bulk mark walks the tree a
//! part at a time (`plan_walk.rs`; 3 files per part in unit tests): new,
//! edited and deleted files, and a partition none of whose files is left.

use std::collections::BTreeMap;

use serde_json::json;

use super::tests::{Cache, opts};
use crate::error::Error;
use crate::sync::local::sha256_hex;
use crate::sync::memory::MemoryRemote;
use crate::sync::shards::shard_of;

const META: &str = "_index/_meta.json";

/// A file of model `m`: partition `data--t--m{m}`.
fn rel(m: usize, n: usize) -> String {
    format!("data/t/m{m}/d{n}/1/raw")
}

fn entry(rel: &str, body: &str) -> serde_json::Value {
    json!({"key": rel, "size": body.len(), "lastModified": "2026-03-01T10:00:00.000Z",
           "sha256": sha256_hex(body.as_bytes())})
}

/// Make the bucket's v2 index list exactly `files` (by rel: body) at
/// `commitSeq` `seq`, a shard per partition, as swamp's writer leaves it;
/// the objects of `files` are written too, shards no longer listed go.
fn publish(r: &MemoryRemote, files: &BTreeMap<String, String>, seq: u64) {
    let mut shards: BTreeMap<String, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
    for (rel, body) in files {
        r.raw_put(rel, body.as_bytes());
        shards
            .entry(shard_of(rel))
            .or_default()
            .insert(rel.clone(), entry(rel, body));
    }
    let stale: Vec<String> = r
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("_index/") && k != META)
        .collect();
    for k in stale {
        r.0.borrow_mut().objects.remove(&k);
    }
    for (pk, entries) in &shards {
        r.raw_put(
            &format!("_index/{pk}.json"),
            json!({"version": 1, "entries": entries})
                .to_string()
                .as_bytes(),
        );
    }
    let pks: Vec<&String> = shards.keys().collect();
    r.raw_put(
        META,
        json!({"version": 2, "partitions": pks, "commitSeq": seq})
            .to_string()
            .as_bytes(),
    );
}

/// 30 files over 10 models.
fn tree() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for m in 0..10 {
        for n in 0..3 {
            files.insert(rel(m, n), format!("m{m} n{n} v1"));
        }
    }
    files
}

#[test]
fn a_pull_in_groups_takes_in_edits_deletions_and_partitions_that_come_and_go() {
    let remote = MemoryRemote::default();
    let mut files = tree();
    publish(&remote, &files, 1);
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 30);
    for (rel, body) in &files {
        assert_eq!(b.read(rel).as_deref(), Some(body.as_str()), "{rel}");
    }

    // Remotely: three edits in three partitions, one file deleted, model
    // 9's partition gone, a new model 10 with two files.
    for (m, n) in [(0, 0), (4, 1), (8, 2)] {
        files.insert(rel(m, n), format!("m{m} n{n} v2"));
    }
    files.remove(&rel(5, 0));
    for n in 0..3 {
        files.remove(&rel(9, n));
    }
    files.insert(rel(10, 0), "m10 n0".into());
    files.insert(rel(10, 1), "m10 n1".into());
    publish(&remote, &files, 2);
    // Locally: an edit of a file the remote left alone is kept.
    b.save(&rel(1, 1), "local edit");

    assert_eq!(b.pull(), 5, "three edits and two new files");
    b.assert_holds(&files, (&rel(1, 1), "local edit"));
    assert_eq!(b.read(&rel(5, 0)), None, "deleted remotely");
    for n in 0..3 {
        assert_eq!(b.read(&rel(9, n)), None, "its partition is gone");
    }
    remote.reset_counters();
    assert_eq!(b.pull(), 0);
    assert_eq!(remote.counts().0, 1, "reconciled: only the meta is read");
    // The local edit is still what a push sends.
    assert_eq!(b.push(), 1);
}

#[test]
fn a_shard_listing_a_file_of_another_listed_partition_is_corrupt_data() {
    let remote = MemoryRemote::default();
    publish(&remote, &tree(), 1);
    let stray = rel(3, 0);
    let mut shard = remote.json("_index/data--t--m1.json");
    shard["entries"][&stray] = entry(&stray, "m3 n0 v1");
    remote.raw_put("_index/data--t--m1.json", shard.to_string().as_bytes());
    let mut b = Cache::new(&remote);
    match b.engine.pull(&opts()) {
        Err(Error::CorruptData(m)) => {
            assert!(
                m.contains("data--t--m1") && m.contains(&stray) && m.contains("data--t--m3"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_corrupt_base_partition_is_read_as_unknown_and_written_anew() {
    let remote = MemoryRemote::default();
    let mut files = tree();
    publish(&remote, &files, 1);
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 30);
    let part = b.path().join("_index/.local-base/data--t--m2.json");
    std::fs::write(&part, "{not json").unwrap();
    files.insert(rel(2, 0), "m2 n0 v2".into());
    files.insert(rel(6, 0), "m6 n0 v2".into());
    publish(&remote, &files, 2);

    // With its history unknown, the local copy of the file edited
    // remotely in the corrupt partition may be a local edit: it is kept,
    // as a pull that read the whole base keeps it; the other edit comes.
    assert_eq!(b.pull(), 1);
    for (rel_, body) in &files {
        let want = if *rel_ == rel(2, 0) {
            "m2 n0 v1"
        } else {
            body.as_str()
        };
        assert_eq!(b.read(rel_).as_deref(), Some(want), "{rel_}");
    }
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&part).unwrap()).unwrap();
    let known: Vec<&String> = written["entries"].as_object().unwrap().keys().collect();
    assert_eq!(
        known,
        [&rel(2, 1), &rel(2, 2)],
        "rewritten with what is known: {written}"
    );
    assert_eq!(b.pull(), 0);
}

#[test]
fn the_journal_of_an_interrupted_pull_is_settled_before_the_groups() {
    let remote = MemoryRemote::default();
    let mut files = tree();
    publish(&remote, &files, 1);
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 30);
    // A pull of version 2 was killed after its file landed, before the
    // base recorded it: the journal names it, the base still has v1.
    let arrived = rel(7, 2);
    files.insert(arrived.clone(), "m7 n2 v2".into());
    publish(&remote, &files, 2);
    b.write(&arrived, "m7 n2 v2");
    let pending = json!({ &arrived: entry(&arrived, "m7 n2 v2") });
    std::fs::write(
        b.path().join("_index/.local-base/_pending.json"),
        pending.to_string(),
    )
    .unwrap();
    // Meanwhile the remote moved on again: without the journal, the file
    // would look like a local edit and this update would not come.
    files.insert(arrived.clone(), "m7 n2 v3".into());
    publish(&remote, &files, 3);

    assert_eq!(b.pull(), 1);
    assert_eq!(b.read(&arrived).as_deref(), Some("m7 n2 v3"));
    assert!(!b.path().join("_index/.local-base/_pending.json").exists());
}

/// What the v2 index lists: path → sha256.
fn listed(r: &MemoryRemote) -> BTreeMap<String, String> {
    let meta = r.json(META);
    let mut out = BTreeMap::new();
    for pk in meta["partitions"].as_array().unwrap() {
        let shard = r.json(&format!("_index/{}.json", pk.as_str().unwrap()));
        for (rel, e) in shard["entries"].as_object().unwrap() {
            out.insert(rel.clone(), e["sha256"].as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn a_push_after_a_bulk_mark_walks_by_parts_and_finds_new_edited_and_deleted_files() {
    let remote = MemoryRemote::default();
    let mut files = tree();
    publish(&remote, &files, 1);
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 30);
    assert_eq!(b.push(), 0, "the first push walks everything: all in sync");

    b.write(&rel(11, 0), "new");
    files.insert(rel(11, 0), "new".into());
    b.write(&rel(2, 1), "edited");
    files.insert(rel(2, 1), "edited".into());
    b.rm(&rel(4, 2));
    files.remove(&rel(4, 2));
    // A partition none of whose files is left: no walked file reads it.
    b.rm("data/t/m6");
    for n in 0..3 {
        files.remove(&rel(6, n));
    }
    b.bulk();
    assert_eq!(b.push(), 6, "one new, one edited, four deleted");

    let want: BTreeMap<String, String> = files
        .iter()
        .map(|(r, body)| (r.clone(), sha256_hex(body.as_bytes())))
        .collect();
    assert_eq!(listed(&remote), want);
    for (rel_, body) in &files {
        assert_eq!(remote.text(rel_).as_deref(), Some(body.as_str()), "{rel_}");
    }
    assert_eq!(remote.text(&rel(4, 2)), None);
    assert_eq!(b.push(), 0, "nothing left dirty");
    let mut c = Cache::new(&remote);
    assert_eq!(c.pull(), files.len() as u32);
    for (rel_, body) in &files {
        assert_eq!(c.read(rel_).as_deref(), Some(body.as_str()), "{rel_}");
    }
}
