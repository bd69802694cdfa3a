//! swamp's v1 monolith kept on disk (`monolith_file.rs`; unit tests keep
//! every monolith there, split a pull into groups of 2 entries and flush
//! the split every 256 bytes): a whole-tree pull from a monolith whose
//! entries come in no particular order, with duplicates and zombies;
//! remote edits and deletions; a push that merges into the file while
//! another writer commits; a corrupt monolith.

use std::collections::BTreeMap;

use serde_json::json;

use super::monolith_file::WORK_DIR;
use super::tests::{Cache, opts};
use crate::error::Error;
use crate::sync::local::sha256_hex;
use crate::sync::memory::MemoryRemote;
use crate::sync::rules::INDEX_FILE;

/// A file of model `m`: partition `data--t--m{m}`.
fn rel(m: usize, n: usize) -> String {
    format!("data/t/m{m}/d{n}/1/raw")
}

fn entry(rel: &str, body: &str) -> String {
    json!({"key": rel, "size": body.len(), "lastModified": "2026-03-01T10:00:00.000Z",
           "sha256": sha256_hex(body.as_bytes())})
    .to_string()
}

/// Write `files` as objects and a monolith listing them in the order of
/// `order` (rels), each entry preceded by `extra` raw entries.
fn publish(r: &MemoryRemote, files: &BTreeMap<String, String>, order: &[String], extra: &[String]) {
    let mut listed: Vec<String> = extra.to_vec();
    for rel in order {
        let body = &files[rel];
        r.raw_put(rel, body.as_bytes());
        listed.push(format!("{}:{}", json!(rel), entry(rel, body)));
    }
    let text = format!(
        r#"{{"version":1,"lastPulled":"2026-03-01T10:00:00.000Z","entries":{{{}}}}}"#,
        listed.join(",")
    );
    r.raw_put(INDEX_FILE, text.as_bytes());
}

/// 24 files over 8 models, listed partition after partition interleaved
/// (file 0 of every model, then file 1 of every model, ...), so each
/// partition is spread over the whole monolith.
fn tree() -> (BTreeMap<String, String>, Vec<String>) {
    let mut files = BTreeMap::new();
    let mut order = Vec::new();
    for n in 0..3 {
        for m in (0..8).rev() {
            files.insert(rel(m, n), format!("m{m} n{n} v1"));
            order.push(rel(m, n));
        }
    }
    (files, order)
}

#[test]
fn a_pull_splits_a_monolith_in_any_order_and_takes_in_edits_and_deletions() {
    let remote = MemoryRemote::default();
    let (mut files, order) = tree();
    // A stale first listing of a key (the later one wins, as in a whole
    // parse) and a zombie that must never be written locally.
    let first = rel(2, 1);
    let extra = [
        format!("{}:{}", json!(first), entry(&first, "stale")),
        format!("{}:{}", json!("../escape"), entry("../escape", "x")),
    ];
    publish(&remote, &files, &order, &extra);
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 24);
    for (rel, body) in &files {
        assert_eq!(b.read(rel).as_deref(), Some(body.as_str()), "{rel}");
    }
    assert!(!b.path().join("..").join("escape").exists());
    // The split is gone; only the monolith file kept for a push is left.
    let work: Vec<_> = std::fs::read_dir(b.path().join(WORK_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(work.len(), 1, "{work:?}");
    assert!(work[0].starts_with(".monolith-"), "{work:?}");
    assert!(crate::atomic_file::is_temp_name(&work[0]), "{work:?}");

    // Remotely: two edits, one file deleted, model 7 gone, a new model 9;
    // listed in yet another order (reversed).
    files.insert(rel(0, 0), "m0 n0 v2".into());
    files.insert(rel(5, 2), "m5 n2 v2".into());
    files.remove(&rel(3, 1));
    for n in 0..3 {
        files.remove(&rel(7, n));
    }
    files.insert(rel(9, 0), "m9 n0".into());
    let order: Vec<String> = files.keys().rev().cloned().collect();
    publish(&remote, &files, &order, &[]);
    // Locally: an edit of a file the remote left alone is kept.
    b.save(&rel(1, 1), "local edit");

    assert_eq!(b.pull(), 3, "two edits and one new file");
    b.assert_holds(&files, (&rel(1, 1), "local edit"));
    assert_eq!(b.read(&rel(3, 1)), None, "deleted remotely");
    for n in 0..3 {
        assert_eq!(b.read(&rel(7, n)), None, "its partition is gone");
    }
    remote.reset_counters();
    assert_eq!(b.pull(), 0);
    // Reconciled: the meta (absent) and a HEAD of the monolith.
    assert_eq!(remote.counts(), (1, 0, 1, 0, 0));

    // The local edit is what a push sends; the push merges into the file
    // the pull kept (a HEAD, no GET) and keeps every other entry.
    remote.reset_counters();
    assert_eq!(b.push(), 1);
    assert_eq!(remote.counts().0, 1, "only the meta is read");
    let idx = remote.json(INDEX_FILE);
    let entries = idx["entries"].as_object().unwrap();
    assert_eq!(entries.len(), files.len());
    assert_eq!(
        entries[&rel(1, 1)]["sha256"],
        sha256_hex(b"local edit"),
        "{idx}"
    );
    assert!(entries[&rel(1, 1)].get("localMtime").is_none());
    assert_eq!(entries[&rel(0, 0)]["sha256"], sha256_hex(b"m0 n0 v2"));
    assert!(!entries.contains_key("../escape"));
}

#[test]
fn a_push_whose_monolith_changed_meanwhile_merges_into_the_new_one() {
    let remote = MemoryRemote::default();
    let (files, order) = tree();
    publish(&remote, &files, &order, &[]);
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    assert_eq!(a.pull(), 24);
    assert_eq!(b.pull(), 24);
    // a commits first; b's kept copy is stale, so b reads the new one.
    a.save(&rel(0, 0), "from a");
    a.save("new/from-a", "a");
    assert_eq!(a.push(), 2);
    b.save(&rel(4, 2), "from b");
    b.mark(&rel(6, 1));
    b.rm(&rel(6, 1));
    assert_eq!(b.push(), 2);
    let idx = remote.json(INDEX_FILE);
    let entries = idx["entries"].as_object().unwrap();
    assert_eq!(entries.len(), 24, "one added by a, one deleted by b");
    assert_eq!(entries[&rel(0, 0)]["sha256"], sha256_hex(b"from a"));
    assert_eq!(entries["new/from-a"]["sha256"], sha256_hex(b"a"));
    assert_eq!(entries[&rel(4, 2)]["sha256"], sha256_hex(b"from b"));
    assert!(!entries.contains_key(&rel(6, 1)));
    // Each sees the other's work after a pull.
    assert_eq!(a.pull(), 1);
    assert_eq!(a.read(&rel(4, 2)).as_deref(), Some("from b"));
    assert_eq!(a.read(&rel(6, 1)), None);
    assert_eq!(b.pull(), 2);
    assert_eq!(b.read("new/from-a").as_deref(), Some("a"));
}

#[test]
fn a_corrupt_monolith_is_corrupt_data_and_leaves_the_cache_alone() {
    for bad in [
        r#"{"version":1,"entries":{"a":{"key":"a","size":1"#.to_string(),
        r#"{"version":2,"entries":{}}"#.to_string(),
        r#"{"entries":{}}"#.to_string(),
        r#"{"version":1,"entries":[]}"#.to_string(),
    ] {
        let remote = MemoryRemote::default();
        let (files, order) = tree();
        publish(&remote, &files, &order, &[]);
        let mut b = Cache::new(&remote);
        assert_eq!(b.pull(), 24);
        remote.raw_put(INDEX_FILE, bad.as_bytes());
        match b.engine.pull(&opts()) {
            Err(Error::CorruptData(m)) => assert!(m.contains(INDEX_FILE), "{m}"),
            other => panic!("{bad}: {other:?}"),
        }
        for (rel, body) in &files {
            assert_eq!(b.read(rel).as_deref(), Some(body.as_str()), "{bad}: {rel}");
        }
        b.save(&rel(0, 0), "edit");
        assert!(
            matches!(b.engine.push(&opts()), Err(Error::CorruptData(_))),
            "{bad}"
        );
        assert_eq!(remote.text(INDEX_FILE).as_deref(), Some(bad.as_str()));
    }
}
