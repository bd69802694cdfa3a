//! The shard-first index (docs/contract.md §5.4, §6.2, §6.4–§6.6, §7):
//! buckets written by swamp's own datastore in the v1 and v2 layouts (JSON
//! fixtures written by hand from docs/contract.md §5), CAS conflicts,
//! interleaved writers, and how many requests a sync costs.

use serde_json::json;

use super::tests::{Cache, With, index_keys, opts};
use crate::error::Error;
use crate::sync::local::sha256_hex;
use crate::sync::memory::MemoryRemote;
use crate::sync::rules::INDEX_FILE;

const META: &str = "_index/_meta.json";

fn entry(rel: &str, body: &str) -> serde_json::Value {
    json!({"key": rel, "size": body.len(), "lastModified": "2026-03-01T10:00:00.000Z",
           "localMtime": "2026-03-01T09:59:59.123Z", "sha256": sha256_hex(body.as_bytes())})
}

/// An entry as an old writer left it: no hash.
fn legacy(rel: &str, body: &str) -> serde_json::Value {
    json!({"key": rel, "size": body.len(), "lastModified": "2026-03-01T10:00:00.000Z"})
}

fn put_json(r: &MemoryRemote, key: &str, v: &serde_json::Value) {
    r.raw_put(key, serde_json::to_string(v).unwrap().as_bytes());
}

/// Files of the fixtures: (rel, body, partition key).
const FILES: [(&str, &str, &str); 5] = [
    ("data/aws/vpc/m1/state/1/raw", "m1 v1", "data--aws--vpc--m1"),
    ("data/aws/vpc/m1/state/latest", "1", "data--aws--vpc"),
    ("data/aws/vpc/m2/state/1/raw", "m2 v1", "data--aws--vpc--m2"),
    (
        "workflow-runs/wf1/run-1.yaml",
        "run: 1",
        "workflow-runs--wf1",
    ),
    (".catalog-export.json", "[]\n", "_root"),
];

/// A bucket as swamp's S3 datastore leaves it after `migrate-index`
/// and later shard-first commits: meta v2, shards, and a stale monolith.
fn swamp_v2_bucket() -> MemoryRemote {
    let r = MemoryRemote::default();
    let mut shards: std::collections::BTreeMap<&str, serde_json::Map<String, serde_json::Value>> =
        Default::default();
    for (rel, body, pk) in FILES {
        r.raw_put(rel, body.as_bytes());
        let e = if pk == "_root" {
            legacy(rel, body)
        } else {
            entry(rel, body)
        };
        shards.entry(pk).or_default().insert(rel.into(), e);
    }
    for (pk, entries) in &shards {
        put_json(
            &r,
            &format!("_index/{pk}.json"),
            &json!({"version": 1, "entries": entries}),
        );
    }
    let pks: Vec<&str> = shards.keys().copied().collect();
    put_json(
        &r,
        META,
        &json!({"version": 2, "partitions": pks, "commitSeq": 41}),
    );
    // The monolith went stale at migration time: it must not be read.
    put_json(
        &r,
        INDEX_FILE,
        &json!({"version": 1, "lastPulled": "2026-01-01T00:00:00.000Z", "entries": {
            "stale/only-in-monolith": entry("stale/only-in-monolith", "old"),
            "data/aws/vpc/m1/state/1/raw": entry("data/aws/vpc/m1/state/1/raw", "old")
        }}),
    );
    r.raw_put("stale/only-in-monolith", b"old");
    r
}

/// A bucket in swamp's dual-write era: the monolith is authoritative, a
/// v1 meta lists the partitions, and one shard lags behind.
fn swamp_v1_bucket() -> MemoryRemote {
    let r = MemoryRemote::default();
    let mut entries = serde_json::Map::new();
    for (rel, body, _) in FILES {
        r.raw_put(rel, body.as_bytes());
        entries.insert(rel.into(), legacy(rel, body));
    }
    entries.insert(
        "data/aws/vpc/m1/state/1/raw".into(),
        entry("data/aws/vpc/m1/state/1/raw", "m1 v1"),
    );
    put_json(
        &r,
        INDEX_FILE,
        &json!({"version": 1, "lastPulled": "2026-03-01T10:00:00.000Z", "entries": entries}),
    );
    put_json(
        &r,
        META,
        &json!({"version": 1, "partitions": ["_root", "data--aws--vpc", "data--aws--vpc--m1", "data--aws--vpc--m2", "workflow-runs--wf1"]}),
    );
    put_json(
        &r,
        "_index/data--aws--vpc--m1.json",
        &json!({"version": 1, "entries": {"data/aws/vpc/m1/zzz": entry("data/aws/vpc/m1/zzz", "x")}}),
    );
    r
}

fn seq(r: &MemoryRemote) -> u64 {
    let m = r.json(META);
    assert_eq!(m["version"], 2, "never demoted: {m}");
    m["commitSeq"].as_u64().unwrap()
}

fn shard_keys(r: &MemoryRemote, pk: &str) -> Vec<String> {
    index_keys(r, &format!("_index/{pk}.json"))
}

#[test]
fn a_v2_bucket_from_swamp_is_read_from_its_shards() {
    let remote = swamp_v2_bucket();
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 5);
    for (rel, body, _) in FILES {
        assert_eq!(b.read(rel).as_deref(), Some(body), "{rel}");
    }
    assert_eq!(b.read("stale/only-in-monolith"), None);
    // Zero-diff: one small read of `_meta.json`, nothing else, and that
    // read sends no body: the meta is the one the pull read last.
    remote.reset_counters();
    assert_eq!(b.pull(), 0);
    assert_eq!(remote.counts(), (1, 0, 0, 0, 0));
    assert_eq!(remote.0.borrow().unchanged, 1);
    // Another writer's commit bumps commitSeq: the next pull sees it.
    let mut a = Cache::new(&remote);
    a.pull();
    a.save("data/aws/vpc/m2/state/1/raw", "m2 v2");
    assert_eq!(a.push(), 1);
    assert_eq!(seq(&remote), 42);
    remote.reset_counters();
    assert_eq!(b.pull(), 1);
    assert_eq!(remote.0.borrow().unchanged, 0, "the changed meta was read");
    assert_eq!(
        b.read("data/aws/vpc/m2/state/1/raw").as_deref(),
        Some("m2 v2")
    );
    // A meta rewritten to the same bytes under a new fingerprint is read
    // again, and still seen unchanged in substance.
    let meta = remote.text(crate::sync::shards::META_FILE).unwrap();
    remote.raw_put(crate::sync::shards::META_FILE, meta.as_bytes());
    remote.reset_counters();
    assert_eq!(b.pull(), 0);
    assert_eq!(remote.0.borrow().unchanged, 0);
    assert_eq!(b.pull(), 0);
    assert_eq!(remote.0.borrow().unchanged, 1);
    // The monolith is never written in v2.
    assert!(
        remote
            .text(INDEX_FILE)
            .unwrap()
            .contains("only-in-monolith")
    );
    assert!(!remote.text(INDEX_FILE).unwrap().contains("m2 v2"));
}

#[test]
fn v2_push_costs_the_same_whatever_the_index_size() {
    for n in [3usize, 60] {
        let remote = MemoryRemote::default();
        let mut pks = Vec::new();
        for i in 0..n {
            let rel = format!("data/t/m{i}/s/1/raw");
            remote.raw_put(&rel, b"v1");
            let pk = format!("data--t--m{i}");
            put_json(
                &remote,
                &format!("_index/{pk}.json"),
                &json!({"version": 1, "entries": {rel.clone(): entry(&rel, "v1")}}),
            );
            pks.push(pk);
        }
        pks.sort();
        put_json(
            &remote,
            META,
            &json!({"version": 2, "partitions": pks, "commitSeq": 7}),
        );
        let mut a = Cache::new(&remote);
        assert_eq!(a.pull(), n as u32);

        // Dirty but unchanged: no remote request at all.
        a.mark("data/t/m0/s/1/raw");
        remote.reset_counters();
        assert_eq!(a.push(), 0);
        assert_eq!(remote.counts(), (0, 0, 0, 0, 0));

        a.save("data/t/m0/s/1/raw", "v2");
        remote.reset_counters();
        assert_eq!(a.push(), 1);
        // GET meta + GET shard; PUT data + CAS shard + CAS meta.
        assert_eq!(remote.counts(), (2, 3, 0, 0, 0), "n = {n}");
        assert_eq!(
            remote.0.borrow().put_keys,
            vec!["data/t/m0/s/1/raw", "_index/data--t--m0.json", META]
        );
        assert_eq!(seq(&remote), 8);
        assert!(remote.text(INDEX_FILE).is_none(), "no monolith in v2");
        let e = &remote.json("_index/data--t--m0.json")["entries"]["data/t/m0/s/1/raw"];
        assert_eq!(e["sha256"], sha256_hex(b"v2"));
        assert!(e.get("localMtime").is_none());
        // Our own commit: the next pull is the one-read fast path.
        remote.reset_counters();
        assert_eq!(a.pull(), 0);
        assert_eq!(remote.counts(), (1, 0, 0, 0, 0));
        // Not dirty: no request.
        remote.reset_counters();
        assert_eq!(a.push(), 0);
        assert_eq!(remote.counts(), (0, 0, 0, 0, 0));
    }
}

#[test]
fn a_listed_but_missing_shard_is_corrupt_never_a_fallback() {
    let remote = swamp_v2_bucket();
    remote
        .0
        .borrow_mut()
        .objects
        .remove("_index/data--aws--vpc--m2.json");
    let mut b = Cache::new(&remote);
    match b.engine.pull(&opts()) {
        Err(Error::CorruptData(m)) => {
            assert!(
                m.contains("data--aws--vpc--m2") && m.contains("_meta.json"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.read("data/aws/vpc/m1/state/1/raw"), None);
    b.write("data/aws/vpc/m2/state/2/raw", "new");
    remote.reset_counters();
    assert!(matches!(b.engine.push(&opts()), Err(Error::CorruptData(_))));
    assert_eq!(remote.0.borrow().puts, 0, "nothing written");
    assert_eq!(seq(&remote), 41);
}

#[test]
fn a_cas_conflict_on_a_shard_rereads_and_merges() {
    let remote = swamp_v2_bucket();
    let mut a = Cache::new(&remote);
    a.pull();
    a.save("data/aws/vpc/m1/state/2/raw", "mine");
    // Another writer commits to the same shard between our read and our
    // write: its entry, its object and its commitSeq bump land first.
    let theirs = "data/aws/vpc/m1/state/3/raw";
    let mut shard = remote.json("_index/data--aws--vpc--m1.json");
    shard["entries"][theirs] = entry(theirs, "theirs");
    let mut meta = remote.json(META);
    meta["commitSeq"] = json!(42);
    remote.0.borrow_mut().inject = vec![
        (theirs.into(), b"theirs".to_vec()),
        (
            "_index/data--aws--vpc--m1.json".into(),
            shard.to_string().into_bytes(),
        ),
        (META.into(), meta.to_string().into_bytes()),
    ];
    assert_eq!(a.push(), 1);
    let keys = shard_keys(&remote, "data--aws--vpc--m1");
    assert!(keys.contains(&theirs.to_string()), "{keys:?}");
    assert!(keys.contains(&"data/aws/vpc/m1/state/2/raw".to_string()));
    assert!(keys.contains(&"data/aws/vpc/m1/state/1/raw".to_string()));
    assert_eq!(seq(&remote), 43);
    // We never saw their file: our sidecar must not claim we did.
    assert_eq!(a.pull(), 1);
    assert_eq!(a.read(theirs).as_deref(), Some("theirs"));
    // Losing every race ends in `conflict`, and the push stays dirty.
    remote.0.borrow_mut().fail_cas = 100;
    a.save("data/aws/vpc/m1/state/4/raw", "x");
    assert!(matches!(a.engine.push(&opts()), Err(Error::Conflict(_))));
    remote.0.borrow_mut().fail_cas = 0;
    assert_eq!(a.push(), 1);
}

#[test]
fn interleaved_disjoint_writers_both_land() {
    let remote = swamp_v2_bucket();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.pull();
    b.pull();
    // Same shard, different files; and a shard of its own.
    a.save("data/aws/vpc/m1/state/2/raw", "a");
    b.save("data/aws/vpc/m1/state/3/raw", "b");
    b.save("workflow-runs/wf2/run.yaml", "b");
    let m = a.engine.prepare(&opts()).unwrap();
    assert_eq!(b.push(), 2);
    assert_eq!(a.engine.commit_manifest(&m, &opts()).unwrap(), 1);
    let keys = shard_keys(&remote, "data--aws--vpc--m1");
    for k in ["data/aws/vpc/m1/state/2/raw", "data/aws/vpc/m1/state/3/raw"] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
    }
    assert_eq!(seq(&remote), 43);
    let meta = remote.json(META);
    assert!(
        meta["partitions"]
            .as_array()
            .unwrap()
            .contains(&json!("workflow-runs--wf2"))
    );
    let mut c = Cache::new(&remote);
    assert_eq!(c.pull(), 8);
    assert_eq!(a.pull(), 2);
    assert_eq!(b.pull(), 1);
}

#[test]
fn v2_deletions_leave_an_empty_shard_and_unplaceable_files_are_kept() {
    let remote = swamp_v2_bucket();
    let mut a = Cache::new(&remote);
    a.pull();
    a.mark("workflow-runs/wf1");
    a.rm("workflow-runs/wf1");
    // swamp's partition function cannot place this one.
    a.save("config/app.yaml", "k: v");
    assert_eq!(a.push(), 2);
    assert_eq!(
        remote.json("_index/workflow-runs--wf1.json"),
        json!({"version": 1, "entries": {}})
    );
    let meta = remote.json(META);
    assert_eq!(
        meta["partitions"],
        json!([
            "_root",
            "_unpartitioned",
            "data--aws--vpc",
            "data--aws--vpc--m1",
            "data--aws--vpc--m2",
            "workflow-runs--wf1"
        ])
    );
    assert_eq!(meta["commitSeq"], 42);
    assert!(remote.text("workflow-runs/wf1/run-1.yaml").is_none());
    let mut b = Cache::new(&remote);
    b.pull();
    assert_eq!(b.read("config/app.yaml").as_deref(), Some("k: v"));
    assert_eq!(b.read("workflow-runs/wf1/run-1.yaml"), None);
}

#[test]
fn scoped_v2_pull_reads_only_the_models_shards() {
    let remote = swamp_v2_bucket();
    let mut b = Cache::new(&remote);
    remote.reset_counters();
    let n = b.engine.pull(&opts().model("aws/vpc", "m1")).unwrap();
    // The model's version files and its `latest` marker, which swamp's
    // depth-based key files under the type's shard.
    assert_eq!(n, 2);
    assert_eq!(b.read("data/aws/vpc/m1/state/latest").as_deref(), Some("1"));
    assert_eq!(b.read("data/aws/vpc/m2/state/1/raw"), None);
    // meta + the two shards that can hold m1 + two downloads.
    assert_eq!(remote.counts(), (5, 0, 0, 0, 0));
}

#[test]
fn a_v1_bucket_from_swamp_is_read_from_the_monolith_and_kept_v1() {
    let remote = swamp_v1_bucket();
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 5);
    assert_eq!(b.read("data/aws/vpc/m1/zzz"), None, "lagging shard ignored");
    b.save("data/aws/vpc/m1/state/2/raw", "m1 v2");
    remote.reset_counters();
    assert_eq!(b.push(), 1);
    // v1: GET meta, HEAD the monolith (the copy the pull kept is still
    // current, so it is not read again), PUT data, CAS monolith, mirror
    // the shard, HEAD the meta (unchanged since it was read: it already
    // lists the partition).
    assert_eq!(remote.counts(), (1, 3, 2, 0, 0));
    let idx = remote.json(INDEX_FILE);
    let mine = &idx["entries"]["data/aws/vpc/m1/state/2/raw"];
    assert_eq!(mine["sha256"], sha256_hex(b"m1 v2"));
    assert!(mine.get("localMtime").is_none());
    // Other writers' entries are kept exactly (no hash added, none lost).
    assert_eq!(
        idx["entries"][".catalog-export.json"],
        legacy(".catalog-export.json", "[]\n")
    );
    assert_eq!(idx["entries"].as_object().unwrap().len(), 6);
    // The dual write mirrors the monolith into the touched shard.
    assert_eq!(
        shard_keys(&remote, "data--aws--vpc--m1"),
        vec!["data/aws/vpc/m1/state/1/raw", "data/aws/vpc/m1/state/2/raw"]
    );
    assert_eq!(remote.json(META)["version"], 1);
    // A new partition is added to the v1 meta.
    b.save("audit/2026/x.log", "a");
    b.push();
    assert_eq!(
        remote.json(META),
        json!({"version": 1, "partitions": ["_root", "audit", "data--aws--vpc", "data--aws--vpc--m1", "data--aws--vpc--m2", "workflow-runs--wf1"]})
    );
}

#[test]
fn a_migration_racing_a_v1_push_gets_the_push_into_the_shards() {
    let remote = swamp_v1_bucket();
    let mut a = Cache::new(&remote);
    a.pull();
    a.save("data/aws/vpc/m1/state/2/raw", "new");
    // swamp's migrate-index lands between our plan and our index write.
    let mut entries = serde_json::Map::new();
    for (rel, body, _) in FILES {
        if rel.starts_with("data/aws/vpc/m1/state/1") {
            entries.insert(rel.into(), legacy(rel, body));
        }
    }
    remote.0.borrow_mut().inject = vec![
        (
            "_index/data--aws--vpc--m1.json".into(),
            json!({"version": 1, "entries": entries})
                .to_string()
                .into_bytes(),
        ),
        (
            META.into(),
            json!({"version": 2, "partitions": ["data--aws--vpc--m1"], "commitSeq": 1})
                .to_string()
                .into_bytes(),
        ),
    ];
    assert_eq!(a.push(), 1);
    assert_eq!(seq(&remote), 2);
    assert_eq!(
        shard_keys(&remote, "data--aws--vpc--m1"),
        vec!["data/aws/vpc/m1/state/1/raw", "data/aws/vpc/m1/state/2/raw"]
    );
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 2);
    assert_eq!(
        b.read("data/aws/vpc/m1/state/2/raw").as_deref(),
        Some("new")
    );
}

#[test]
fn a_corrupt_or_future_meta_is_reported_and_left_alone() {
    for bad in [&b"{"[..], br#"{"version":3,"partitions":[]}"#] {
        let remote = swamp_v2_bucket();
        remote.raw_put(META, bad);
        let mut b = Cache::new(&remote);
        assert!(matches!(b.engine.pull(&opts()), Err(Error::CorruptData(_))));
        b.write("files/x", "1");
        assert!(matches!(b.engine.push(&opts()), Err(Error::CorruptData(_))));
        assert_eq!(remote.text(META).unwrap().as_bytes(), bad);
    }
}

#[test]
fn transfers_and_shard_reads_go_in_batches() {
    let remote = swamp_v2_bucket();
    let mut a = Cache::new(&remote);
    remote.reset_counters();
    assert_eq!(a.pull(), 5);
    // Unit tests close a pull's group at 2 entries and read 2 shards per
    // batch (`pull_parts.rs`): the five one-file shards are read and
    // reconciled a group at a time, each group's files in one batch.
    assert_eq!(
        remote.0.borrow().batches,
        vec![
            ("get", 2),
            ("download", 2),
            ("get", 2),
            ("download", 2),
            ("get", 1),
            ("download", 1)
        ],
        "shards read in batches, each group's files in one batch"
    );
    assert_eq!(a.push(), 0, "the first push walks everything (no history)");
    for i in 0..3 {
        a.save(&format!("files/f{i}"), "x");
    }
    a.mark("workflow-runs/wf1");
    a.rm("workflow-runs/wf1");
    remote.reset_counters();
    assert_eq!(a.push(), 4);
    assert_eq!(
        remote.0.borrow().batches,
        // Plan: the one listed shard the paths touch; commit: the new
        // `files` shard (absent: created); deletions only after the index
        // stopped listing them.
        vec![("get", 1), ("upload", 3), ("get", 1), ("delete", 1)]
    );
    // Downloads are atomic: no temporary file is left behind.
    let mut b = Cache::new(&remote);
    b.pull();
    let leftovers: Vec<String> = crate::sync::local::walk(b.path(), "", &|_, _| false)
        .unwrap()
        .into_iter()
        .chain(
            std::fs::read_dir(b.path().join("files"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap()),
        )
        .filter(|n| n.contains("swamp-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_namespaced_v2_index_lives_under_the_namespace() {
    let remote = MemoryRemote::default();
    let rel = "data/t/m/s/1/raw";
    remote.raw_put(&format!("team/{rel}"), b"ns");
    put_json(
        &remote,
        "team/_index/data--t--m.json",
        &json!({"version": 1, "entries": {rel: entry(rel, "ns")}}),
    );
    put_json(
        &remote,
        "team/_index/_meta.json",
        &json!({"version": 2, "partitions": ["data--t--m"], "commitSeq": 3}),
    );
    let mut a = Cache::new(&remote);
    assert_eq!(a.engine.pull(&opts().ns("team")).unwrap(), 1);
    assert_eq!(a.read(&format!("team/{rel}")).as_deref(), Some("ns"));
    a.engine
        .mark(&opts().ns("team").rel("team/data/t/m/s/2/raw"))
        .unwrap();
    a.write("team/data/t/m/s/2/raw", "two");
    assert_eq!(a.engine.push(&opts().ns("team")).unwrap(), 1);
    assert_eq!(remote.json("team/_index/_meta.json")["commitSeq"], 4);
    assert_eq!(
        index_keys(&remote, "team/_index/data--t--m.json"),
        vec![rel, "data/t/m/s/2/raw"]
    );
    assert!(remote.text("_index/_meta.json").is_none());
    assert!(remote.text("team/.datastore-index.json").is_none());
}
