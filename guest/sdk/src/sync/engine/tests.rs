//! Engine behaviour against an in-memory remote and real temp-dir caches.

use std::fs;
use std::path::Path;

use super::SyncEngine;
use crate::error::Error;
use crate::sync::memory::MemoryRemote;
use crate::sync::rules::{INDEX_FILE, SIDECAR_FILE};
use swamp_datastore_types::{ModelRef, PushManifest, SyncContext, SyncOptions};

pub(super) type Engine = SyncEngine<MemoryRemote>;

pub(super) struct Cache {
    pub(super) dir: tempfile::TempDir,
    pub(super) engine: Engine,
}

impl Cache {
    pub(super) fn new(remote: &MemoryRemote) -> Cache {
        let dir = tempfile::tempdir().unwrap();
        let engine = SyncEngine::new(remote.clone(), dir.path());
        Cache { dir, engine }
    }
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
    pub(super) fn write(&self, rel: &str, body: &str) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
    pub(super) fn read(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.path().join(rel)).ok()
    }
    pub(super) fn rm(&self, rel: &str) {
        let p = self.path().join(rel);
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap()
        } else {
            fs::remove_file(p).unwrap()
        }
    }
    /// mark-dirty(rel) then write: the order swamp uses.
    pub(super) fn save(&mut self, rel: &str, body: &str) {
        self.mark(rel);
        self.write(rel, body);
    }
    pub(super) fn mark(&mut self, rel: &str) {
        self.engine.mark(&opts().rel(rel)).unwrap();
    }
    pub(super) fn bulk(&mut self) {
        self.engine.mark(&opts()).unwrap();
    }
    pub(super) fn push(&mut self) -> u32 {
        self.engine.push(&opts()).unwrap()
    }
    pub(super) fn pull(&mut self) -> u32 {
        self.engine.pull(&opts()).unwrap()
    }
    /// Every file of `files` (rel: body) holds its body, but `edited`,
    /// which holds `edit` (a local edit that a pull must keep).
    pub(super) fn assert_holds(
        &self,
        files: &std::collections::BTreeMap<String, String>,
        (edited, edit): (&str, &str),
    ) {
        for (rel, body) in files {
            let want = if rel == edited { edit } else { body.as_str() };
            assert_eq!(self.read(rel).as_deref(), Some(want), "{rel}");
        }
    }
}

pub(super) fn opts() -> SyncOptions {
    SyncOptions::default()
}

pub(super) trait With {
    fn rel(self, r: &str) -> Self;
    fn ns(self, n: &str) -> Self;
    fn model(self, t: &str, id: &str) -> Self;
    fn meta(self) -> Self;
}
impl With for SyncOptions {
    fn rel(mut self, r: &str) -> Self {
        self.rel_path = Some(r.into());
        self
    }
    fn ns(mut self, n: &str) -> Self {
        self.namespace = Some(n.into());
        self
    }
    fn model(mut self, t: &str, id: &str) -> Self {
        self.context
            .get_or_insert_with(SyncContext::default)
            .models
            .push(ModelRef {
                model_type: t.into(),
                model_id: id.into(),
            });
        self
    }
    fn meta(mut self) -> Self {
        self.metadata_only = true;
        self
    }
}

pub(super) fn index_keys(remote: &MemoryRemote, key: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&remote.text(key).unwrap()).unwrap();
    v["entries"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn push_then_pull_round_trip_with_hashes_in_the_index() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m1/state/1/raw", "hello");
    a.write("workflows-evaluated/w.yaml", "w: 1");
    // No sidecar yet: the first push walks everything (markDirty rule 4).
    assert_eq!(a.push(), 2);
    let v: serde_json::Value = serde_json::from_str(&remote.text(INDEX_FILE).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    let e = &v["entries"]["data/t/m1/state/1/raw"];
    assert_eq!(e["key"], "data/t/m1/state/1/raw");
    assert_eq!(e["size"], 5);
    assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
    assert!(e.get("localMtime").is_none());

    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 2);
    assert_eq!(b.read("data/t/m1/state/1/raw").as_deref(), Some("hello"));
    assert_eq!(b.pull(), 0);
}

/// A file the base does not know is hashed only when the remote index
/// lists it; either way the index records the hash of the bytes uploaded.
#[test]
fn files_without_a_base_are_decided_against_the_remote_and_recorded_with_their_hash() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/same", "shared");
    a.write("data/t/m/other", "from a");
    assert_eq!(a.push(), 2);
    // b has the same two paths but no history: one equal, one different;
    // and a file nobody has seen.
    let mut b = Cache::new(&remote);
    b.write("data/t/m/same", "shared");
    b.write("data/t/m/other", "from b!");
    b.write("data/t/m/new", "brand new");
    remote.reset_counters();
    assert_eq!(b.push(), 2, "the equal file is skipped, the other two go");
    let v = remote.json(INDEX_FILE);
    let sha = |body: &str| crate::sync::local::sha256_hex(body.as_bytes());
    for (rel, body) in [
        ("same", "shared"),
        ("other", "from b!"),
        ("new", "brand new"),
    ] {
        let e = &v["entries"][format!("data/t/m/{rel}")];
        assert_eq!(e["sha256"], sha(body), "{rel}");
        assert_eq!(e["size"], body.len(), "{rel}");
        assert_eq!(
            remote.text(&format!("data/t/m/{rel}")).as_deref(),
            Some(body)
        );
    }
}

#[test]
fn zero_diff_push_and_pull_cost_no_transfer() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/x/latest", "1");
    a.push();
    a.pull();
    remote.reset_counters();
    assert_eq!(a.push(), 0);
    {
        let i = remote.0.borrow();
        assert_eq!(
            (i.gets, i.puts, i.lists, i.heads, i.deletes),
            (0, 0, 0, 0, 0)
        );
    }
    assert_eq!(a.pull(), 0);
    // v1: `_meta.json` (a migration to v2 would leave the monolith
    // unchanged) and a HEAD of the monolith.
    {
        let i = remote.0.borrow();
        assert_eq!((i.gets, i.puts, i.lists, i.heads), (1, 0, 0, 1));
    }
    // Neither reads the local base index (its size grows with the index):
    // with the base made unreadable, both still answer 0.
    let base = a.path().join(crate::sync::base::BASE_DIR);
    let mut parts = 0;
    for f in fs::read_dir(&base).unwrap() {
        let f = f.unwrap().path();
        if f.is_dir() {
            // The summary's buckets: a file where the directory was.
            fs::remove_dir_all(&f).unwrap();
            fs::write(&f, b"not a directory").unwrap();
        } else {
            fs::remove_file(&f).unwrap();
            fs::create_dir(&f).unwrap();
            parts += 1;
        }
    }
    assert!(parts > 0, "the base has partition files");
    assert_eq!(a.push(), 0);
    assert_eq!(a.pull(), 0);
}

#[test]
fn push_after_mark_dirty_touches_only_that_path() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/a/n/1/raw", "a");
    a.write("data/t/b/n/1/raw", "b");
    a.push();
    a.write("data/t/b/n/1/raw", "B"); // changed without a mark: not this push's business
    a.save("data/t/a/n/1/raw", "A");
    remote.reset_counters();
    assert_eq!(a.push(), 1);
    // v1: the monolith is rewritten whole (the format leaves no other
    // way), but not read again: the one this engine committed last is
    // still there (one HEAD says so). swamp's dual write mirrors the one
    // touched shard; the meta is read when planning and, after the commit,
    // a HEAD finds it unchanged (it still lists that partition: not
    // rewritten).
    let i = remote.0.borrow();
    assert_eq!(
        i.put_keys,
        vec![
            "data/t/a/n/1/raw".to_string(),
            INDEX_FILE.to_string(),
            "_index/data--t--a.json".to_string()
        ]
    );
    assert_eq!((i.gets, i.heads, i.lists, i.deletes), (1, 2, 0, 0));
}

#[test]
fn the_monolith_kept_from_the_last_commit_is_used_only_while_it_is_current() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.write("data/t/a/n/1/raw", "a");
    a.push();
    // Another writer commits: a's kept monolith is stale now.
    b.write("data/t/b/n/1/raw", "b");
    b.push();
    a.save("data/t/a/n/1/raw", "A");
    remote.reset_counters();
    assert_eq!(a.push(), 1);
    // The HEAD told it apart, the monolith was read, and b's entry kept
    // (the other HEAD is the meta's after the commit).
    assert_eq!(remote.counts().2, 2, "HEADs of the monolith and the meta");
    assert_eq!(
        index_keys(&remote, INDEX_FILE),
        vec!["data/t/a/n/1/raw", "data/t/b/n/1/raw"]
    );
    // Replaced behind everyone's back by the same bytes under a new
    // fingerprint (as a rewrite by swamp does): read again, not assumed.
    let bytes = remote.text(INDEX_FILE).unwrap();
    remote.raw_put(INDEX_FILE, bytes.as_bytes());
    a.save("data/t/a/n/1/raw", "AA");
    remote.reset_counters();
    assert_eq!(a.push(), 1);
    let (gets, _, heads, _, _) = remote.counts();
    assert_eq!(
        (gets, heads),
        (2, 2),
        "the meta and the monolith read once, each HEADed once"
    );
    // Deleted: the push recreates it from what is stored, as without a
    // kept copy.
    remote.0.borrow_mut().objects.remove(INDEX_FILE);
    a.save("data/t/a/n/1/raw", "AAA");
    assert_eq!(a.push(), 1);
    assert_eq!(
        index_keys(&remote, INDEX_FILE),
        vec!["data/t/a/n/1/raw", "data/t/b/n/1/raw"]
    );
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("data/t/a/n/1/raw").as_deref(), Some("AAA"));
}

#[test]
fn same_size_edits_sync_both_ways() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.write("data/t/m/n/latest", "10");
    a.push();
    b.pull();
    a.save("data/t/m/n/latest", "11");
    assert_eq!(a.push(), 1);
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("data/t/m/n/latest").as_deref(), Some("11"));
    b.save("data/t/m/n/latest", "12");
    assert_eq!(b.push(), 1);
    assert_eq!(a.pull(), 1);
    assert_eq!(a.read("data/t/m/n/latest").as_deref(), Some("12"));
}

#[test]
fn deletions_propagate_per_path_and_behind_a_bulk_signal() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    for f in ["x/1", "x/2", "y/1"] {
        a.write(&format!("data/t/m/{f}"), f);
    }
    a.push();
    b.pull();
    // Per-path: mark then delete (markDirty rule 2: absence means delete).
    a.mark("data/t/m/x/1");
    a.rm("data/t/m/x/1");
    assert_eq!(a.push(), 1);
    // Behind a bulk signal (lost by the original, docs/contract.md §10.4):
    // still propagated.
    a.bulk();
    a.rm("data/t/m/y/1");
    a.mark("data/t/m/x/2"); // ignored under bulk (markDirty rule 8), harmless
    assert_eq!(a.push(), 1);
    assert_eq!(index_keys(&remote, INDEX_FILE), vec!["data/t/m/x/2"]);
    assert_eq!(b.pull(), 0);
    assert_eq!(b.read("data/t/m/x/1"), None);
    assert_eq!(b.read("data/t/m/y/1"), None);
    assert!(
        !b.path().join("data/t/m/y").exists(),
        "emptied dirs are pruned"
    );
    assert_eq!(b.read("data/t/m/x/2").as_deref(), Some("x/2"));
}

#[test]
fn a_recorded_directory_that_is_gone_deletes_its_whole_remote_subtree() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.write("data/t/m/name/1/raw", "v1");
    a.push();
    b.pull();
    b.write("data/t/m/name/2/raw", "v2"); // a never pulls this one
    b.push();
    a.mark("data/t/m/name");
    a.rm("data/t/m/name");
    assert_eq!(a.push(), 2);
    assert!(index_keys(&remote, INDEX_FILE).is_empty());
    assert!(
        remote
            .keys()
            .iter()
            .all(|k| k == INDEX_FILE || k.starts_with("_index/"))
    );
}

#[test]
fn pull_keeps_unpushed_edits_and_deletions() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.write("f/1", "base");
    a.write("f/2", "base");
    a.push();
    b.pull();
    a.save("f/1", "mine"); // edited here, not pushed
    a.mark("f/2");
    a.rm("f/2"); // deleted here, not pushed
    b.save("f/1", "theirs");
    b.push();
    assert_eq!(a.pull(), 0);
    assert_eq!(a.read("f/1").as_deref(), Some("mine"));
    assert_eq!(a.read("f/2"), None);
    // Then the local edit wins the push (it was made under the lock).
    assert_eq!(a.push(), 2);
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("f/1").as_deref(), Some("mine"));
    assert_eq!(b.read("f/2"), None);
}

#[test]
fn a_full_walk_never_reverts_another_writer() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.write("f", "1");
    a.push();
    b.pull();
    b.save("f", "2");
    b.push();
    a.bulk(); // nothing edited here
    assert_eq!(a.push(), 0);
    assert_eq!(a.pull(), 1);
    assert_eq!(a.read("f").as_deref(), Some("2"));
}

#[test]
fn concurrent_writers_never_lose_index_entries() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let mut b = Cache::new(&remote);
    a.write("a", "1");
    b.write("b", "2");
    a.push();
    remote.0.borrow_mut().fail_cas = 3; // lose three races, then win
    assert_eq!(b.push(), 1);
    assert_eq!(index_keys(&remote, INDEX_FILE), vec!["a", "b"]);
    // b never saw "a": its fingerprint must not claim it did.
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("a").as_deref(), Some("1"));
    remote.0.borrow_mut().fail_cas = 100;
    b.save("c", "3");
    assert!(matches!(b.engine.push(&opts()), Err(Error::Conflict(_))));
    remote.0.borrow_mut().fail_cas = 0;
    assert_eq!(b.push(), 1, "the failed push stays dirty and retries");
}

#[test]
fn dirty_state_survives_a_restart_and_a_lost_sidecar_means_full_walk() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("p/1", "1");
    a.write("p/2", "2");
    a.push();
    a.save("p/1", "one");
    // A new engine on the same cache (process restart).
    a.engine = SyncEngine::new(remote.clone(), a.path());
    remote.reset_counters();
    assert_eq!(a.push(), 1);
    assert_eq!(remote.0.borrow().put_keys[0], "p/1");
    // Changed without a mark and the sidecar lost: the full walk finds it.
    a.write("p/2", "two");
    fs::remove_file(a.path().join(SIDECAR_FILE)).unwrap();
    assert_eq!(a.push(), 1);
    assert_eq!(a.push(), 0);
    // A corrupt sidecar is only lost state: same full walk, no error.
    fs::write(a.path().join(SIDECAR_FILE), "{{{").unwrap();
    a.write("p/3", "3");
    assert_eq!(a.push(), 1);
}

#[test]
fn overflowing_the_dirty_set_falls_back_to_a_full_walk() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.push();
    for i in 0..205 {
        a.save(&format!("files/f{i}"), "x");
    }
    assert_eq!(a.push(), 205);
}

#[test]
fn metadata_only_pull_then_hydration() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/n/1/raw", "content");
    a.write("data/t/m/n/1/metadata.yaml", "meta");
    a.write("data/t/m/n/latest", "1");
    a.push();
    let mut b = Cache::new(&remote);
    assert_eq!(b.engine.pull(&opts().meta()).unwrap(), 2);
    assert_eq!(b.read("data/t/m/n/1/raw"), None);
    assert!(
        b.path().join("data/t/m/n/1").is_dir(),
        "parent dir exists for the catalog walker"
    );
    assert_eq!(b.engine.pull(&opts().meta()).unwrap(), 0);
    // A push while content is missing locally deletes nothing.
    b.bulk();
    assert_eq!(b.push(), 0);
    assert!(remote.keys().contains(&"data/t/m/n/1/raw".to_string()));
    assert!(b.engine.hydrate("data/t/m/n/1/raw", &opts()).unwrap());
    assert_eq!(b.read("data/t/m/n/1/raw").as_deref(), Some("content"));
    assert!(!b.engine.hydrate("data/t/m/n/9/raw", &opts()).unwrap());
    // Hydrated files are tracked: a remote deletion reaches them.
    a.mark("data/t/m/n/1/raw");
    a.rm("data/t/m/n/1/raw");
    a.push();
    b.engine.pull(&opts().meta()).unwrap();
    assert_eq!(b.read("data/t/m/n/1/raw"), None);
}

#[test]
fn a_full_pull_after_a_metadata_only_pull_fetches_the_content() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/n/1/raw", "c");
    a.push();
    let mut b = Cache::new(&remote);
    assert_eq!(b.engine.pull(&opts().meta()).unwrap(), 0);
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("data/t/m/n/1/raw").as_deref(), Some("c"));
    assert_eq!(b.pull(), 0);
}

#[test]
fn hydrate_refuses_to_overwrite_unpushed_edits() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/n/1/raw", "remote");
    a.push();
    let mut b = Cache::new(&remote);
    b.write("data/t/m/n/1/raw", "local edit");
    assert!(matches!(
        b.engine.hydrate("data/t/m/n/1/raw", &opts()),
        Err(Error::Conflict(_))
    ));
    assert_eq!(b.read("data/t/m/n/1/raw").as_deref(), Some("local edit"));
    assert!(matches!(
        b.engine.hydrate("../x", &opts()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        b.engine.hydrate(".datastore.lock", &opts()),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn namespaces_are_kept_apart() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("team-a/data/t/m/n/latest", "a");
    a.write("solo.txt", "solo");
    assert_eq!(a.engine.push(&opts().ns("team-a")).unwrap(), 1);
    assert_eq!(
        remote.text("team-a/data/t/m/n/latest").as_deref(),
        Some("a")
    );
    assert_eq!(
        index_keys(&remote, &format!("team-a/{INDEX_FILE}")),
        vec!["data/t/m/n/latest"]
    );
    // The solo walk leaves the namespace's subtree alone.
    assert_eq!(a.push(), 1);
    assert_eq!(index_keys(&remote, INDEX_FILE), vec!["solo.txt"]);
    // Marks carry the namespace as first segment; it is stripped once.
    a.engine
        .mark(&opts().ns("team-a").rel("team-a/data/t/m/n/latest"))
        .unwrap();
    a.write("team-a/data/t/m/n/latest", "a2");
    assert_eq!(a.engine.push(&opts().ns("team-a")).unwrap(), 1);

    let mut b = Cache::new(&remote);
    b.write("team-b/x", "b");
    assert_eq!(b.engine.push(&opts().ns("team-b")).unwrap(), 1);
    let mut c = Cache::new(&remote);
    assert_eq!(c.engine.pull(&opts().ns("team-a")).unwrap(), 1);
    assert_eq!(c.read("team-a/data/t/m/n/latest").as_deref(), Some("a2"));
    assert_eq!(c.read("team-b/x"), None);
    assert_eq!(c.read("solo.txt"), None);
    assert!(
        c.engine
            .hydrate("team-a/data/t/m/n/latest", &opts().ns("team-a"))
            .unwrap()
    );
    assert!(matches!(
        c.engine.pull(&opts().ns("Bad_NS")),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn solo_discovery_skips_namespace_subtrees() {
    let remote = MemoryRemote::default();
    remote.raw_put("data/t/m/n/latest", b"1");
    remote.raw_put("ns1/.namespace.json", b"{}");
    remote.raw_put("ns1/data/t/m/n/latest", b"2");
    remote.raw_put("_control/x", b"internal");
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 1);
    assert_eq!(index_keys(&remote, INDEX_FILE), vec!["data/t/m/n/latest"]);
    assert_eq!(b.read("ns1/data/t/m/n/latest"), None);
}

#[test]
fn a_scoped_pull_brings_only_the_models_named() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/aws/vpc/m1/s/1/raw", "1");
    a.write("data/aws/vpc/m1/s/latest", "1");
    a.write("data/aws/vpc/m2/s/1/raw", "2");
    a.push();
    let mut b = Cache::new(&remote);
    assert_eq!(b.engine.pull(&opts().model("aws/vpc", "m1")).unwrap(), 2);
    assert_eq!(b.read("data/aws/vpc/m2/s/1/raw"), None);
    // A scoped pull is not a full reconcile: the next full pull still works.
    assert_eq!(b.pull(), 1);
}

#[test]
fn a_push_with_context_models_still_uploads_every_marked_path() {
    // A model method run as swamp lays it out: the run's files sit outside
    // `data/{type}/{id}/` (outputs by method, evaluated definitions by model
    // name, workflow runs at the top), and another model's edit is marked too.
    let run = [
        "data/command/shell/m1/result/1/raw",
        "outputs/command/shell/execute/m1-20261201T000000.yaml",
        "definitions-evaluated/command/shell/hello.yaml",
        "workflow-runs/w1/run-1.yaml",
        "data/command/shell/m2/result/1/raw",
    ];
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.push();
    for rel in run {
        a.save(rel, rel);
    }
    let scoped = opts().model("command/shell", "m1");
    let preview = a.engine.preview(&scoped).unwrap();
    assert_eq!((preview.new, preview.total), (5, 5));
    let m = a.engine.prepare(&scoped).unwrap();
    assert_eq!(m.pushed, 5);
    assert_eq!(a.engine.commit_manifest(&m, &scoped).unwrap(), 5);
    assert_eq!(a.push(), 0, "nothing left dirty");

    // The one-phase push, after a bulk mark, the same.
    a.write("outputs/command/shell/execute/m1-20261201T000001.yaml", "2");
    a.write("workflow-runs/w1/run-2.yaml", "2");
    a.bulk();
    assert_eq!(a.engine.push(&scoped).unwrap(), 2);

    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 7);
    for rel in run {
        assert_eq!(b.read(rel).as_deref(), Some(rel), "{rel}");
    }
}

#[test]
fn two_phase_push_uploads_first_and_commits_later() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.push();
    a.save("data/t/m/n/latest", "1");
    let m = a.engine.prepare(&opts()).unwrap();
    assert_eq!((m.pushed, m.deleted), (1, 0));
    assert_eq!(remote.text("data/t/m/n/latest").as_deref(), Some("1"));
    assert!(
        remote
            .text(INDEX_FILE)
            .is_none_or(|t| !t.contains("latest")),
        "index untouched"
    );
    // A mark between prepare and commit survives the commit.
    a.save("data/t/m/n/2", "x");
    assert_eq!(a.engine.commit_manifest(&m, &opts()).unwrap(), 1);
    assert_eq!(index_keys(&remote, INDEX_FILE), vec!["data/t/m/n/latest"]);
    assert_eq!(a.push(), 1);
    // Manifests are checked.
    let bogus = PushManifest {
        pushed: 0,
        deleted: 0,
        payload: "{}".into(),
    };
    assert!(matches!(
        a.engine.commit_manifest(&bogus, &opts()),
        Err(Error::InvalidArgument(_))
    ));
    let empty = a.engine.prepare(&opts()).unwrap();
    assert!(matches!(
        a.engine.commit_manifest(&empty, &opts().ns("other")),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(a.engine.commit_manifest(&empty, &opts()).unwrap(), 0);
}

#[test]
fn preview_counts_without_changing_anything() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("old", "1");
    a.write("gone", "1");
    a.push();
    a.save("old", "2");
    a.save("new", "1");
    a.mark("gone");
    a.rm("gone");
    remote.reset_counters();
    let p = a.engine.preview(&opts()).unwrap();
    assert_eq!((p.total, p.new, p.changed, p.deleted), (3, 1, 1, 1));
    assert_eq!((remote.0.borrow().puts, remote.0.borrow().deletes), (0, 0));
    assert_eq!(a.push(), 3);
    assert_eq!(a.engine.preview(&opts()).unwrap().total, 0);
}

#[test]
fn corrupt_remote_index_is_reported_and_left_alone() {
    let remote = MemoryRemote::default();
    remote.raw_put(INDEX_FILE, b"{not json");
    let mut a = Cache::new(&remote);
    a.write("f", "1");
    match a.engine.push(&opts()) {
        Err(Error::CorruptData(m)) => assert!(m.contains("mem://.datastore-index.json"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(a.engine.pull(&opts()), Err(Error::CorruptData(_))));
    assert_eq!(remote.text(INDEX_FILE).as_deref(), Some("{not json"));
}

#[test]
fn internal_files_never_cross() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    for f in [
        ".datastore.lock",
        "data/t/m/.lock",
        "_index/s.json",
        "_control/k",
        "x/.namespace.json",
        "_catalog.db",
        "f",
    ] {
        a.write(f, "x");
    }
    assert_eq!(a.push(), 1);
    // Only the data file and index objects (the dual-written `_root`
    // shard and v1 meta), never the local `_index/s.json`.
    assert_eq!(
        remote.keys(),
        vec![
            INDEX_FILE.to_string(),
            "_index/_meta.json".to_string(),
            "_index/_root.json".to_string(),
            "f".to_string()
        ]
    );
    a.mark(".datastore.lock"); // a no-op, never an error
    assert_eq!(a.push(), 0);
}

#[test]
fn bad_arguments_and_deadlines() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    for bad in ["/abs", "a/../b", "a\\b", "", "a\0b"] {
        assert!(
            matches!(
                a.engine.mark(&opts().rel(bad)),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
    }
    a.write("f", "1");
    let mut o = opts();
    o.timeout_ms = Some(0);
    assert!(matches!(a.engine.push(&o), Err(Error::Aborted(_))));
    assert_eq!(a.push(), 1, "an aborted push leaves the work for the next");
}

/// Rewrite a cache's state files as the original TypeScript client leaves
/// them: its v2 sidecar (no `wasm` key), claiming the current remote index
/// ETag, and its local index copy (entries without our `localMtime`).
fn as_the_original_left_it(c: &Cache, remote: &MemoryRemote) {
    let etag = remote_etag(remote);
    let side = serde_json::json!({
        "version": 2, "remoteIndexETag": etag,
        "lastVerifiedAt": "2026-01-01T00:00:00.000Z", "localDirty": false,
        "dirtyPaths": [], "bulkInvalidated": false, "lazyPullActive": false,
        "dirtyPathsOverflowed": false,
    });
    fs::write(c.path().join(SIDECAR_FILE), side.to_string()).unwrap();
    // The original keeps one local index file, and never our partitions.
    let files = crate::sync::state::StateFiles::at(c.path());
    let (mut base, ok) = files.load_base().unwrap();
    assert!(ok);
    for e in base.entries.values_mut() {
        e.local_mtime = None;
    }
    fs::remove_dir_all(c.path().join(crate::sync::base::BASE_DIR)).unwrap();
    fs::write(c.path().join(INDEX_FILE), base.to_pretty()).unwrap();
}

/// The remote index's ETag, without quotes, as a sidecar records it.
fn remote_etag(remote: &MemoryRemote) -> String {
    use crate::sync::remote::RemoteStore;
    let mut r = remote.clone();
    let fp = r.fingerprint(INDEX_FILE).unwrap().expect("a remote index");
    fp.0.trim_matches('"').to_string()
}

fn sidecar_etag(c: &Cache) -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(c.path().join(SIDECAR_FILE)).unwrap()).unwrap();
    v["remoteIndexETag"].as_str().unwrap().to_string()
}

#[test]
fn a_push_from_a_cache_the_original_synced_records_the_real_etag() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/1/raw", "one");
    a.write("workflows/w.yaml", "w");
    a.push();
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 2);
    as_the_original_left_it(&b, &remote);

    b.save("workflows/w.yaml", "w2");
    assert_eq!(b.push(), 1);
    let etag = sidecar_etag(&b);
    assert_eq!(etag, remote_etag(&remote), "the index this push wrote");
    assert!(!etag.is_empty());

    // The next sync takes the fast path: no index download, no transfer.
    remote.reset_counters();
    assert_eq!(b.pull(), 0);
    assert_eq!(
        remote.0.borrow().gets,
        1,
        "only the meta read of the v1 fast path"
    );
    // And the base now has this machine's mtimes: an edit of one file is
    // still found and pushed, a later remote edit still pulled.
    b.save("data/t/m/1/raw", "uno");
    assert_eq!(b.push(), 1);
    a.save("workflows/w.yaml", "w3");
    assert_eq!(a.push(), 1);
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("workflows/w.yaml").as_deref(), Some("w3"));
    assert_eq!(b.read("data/t/m/1/raw").as_deref(), Some("uno"));
}

#[test]
fn a_cache_the_original_synced_that_lacks_a_remote_file_records_no_etag() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("workflows/w.yaml", "w");
    a.push();
    let mut b = Cache::new(&remote);
    b.pull();
    as_the_original_left_it(&b, &remote);
    // Another writer adds a file that B does not have.
    a.save("workflows/new.yaml", "new");
    assert_eq!(a.push(), 1);

    b.save("workflows/w.yaml", "w2");
    assert_eq!(b.push(), 1);
    assert_eq!(
        sidecar_etag(&b),
        "",
        "B does not agree with the index it committed into"
    );
    assert_eq!(b.pull(), 1);
    assert_eq!(b.read("workflows/new.yaml").as_deref(), Some("new"));
}

#[test]
fn a_download_that_does_not_match_the_index_is_not_kept() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    a.write("data/t/m/1/raw", "the bytes the index lists");
    a.write("workflows/w.yaml", "w");
    a.push();
    // The object changes behind the index's back (bit rot, a broken
    // writer, a server that stored something else).
    remote.raw_put("data/t/m/1/raw", b"other bytes");
    // (Without the check the pull would keep "other bytes" and record them.)
    let mut b = Cache::new(&remote);
    match b.engine.pull(&opts()) {
        Err(Error::CorruptData(m)) => {
            assert!(m.contains("data/t/m/1/raw"), "{m}");
            assert!(m.contains("does not match the index"), "{m}");
        }
        other => panic!("expected corrupt-data, got {other:?}"),
    }
    assert_eq!(b.read("data/t/m/1/raw"), None, "bad bytes were kept");
    assert_eq!(
        b.read("workflows/w.yaml").as_deref(),
        Some("w"),
        "the good file still arrives"
    );
    // No temporary file is left beside it either.
    let dir = b.path().join("data/t/m/1");
    let left: Vec<_> = fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // Once the object is right again, the next pull brings it.
    remote.raw_put("data/t/m/1/raw", b"the bytes the index lists");
    assert_eq!(b.pull(), 1);
    assert_eq!(
        b.read("data/t/m/1/raw").as_deref(),
        Some("the bytes the index lists")
    );
}

/// A cache that has pushed one file in each of five models' partitions.
fn five_models_pushed(remote: &MemoryRemote) -> Cache {
    let mut a = Cache::new(remote);
    for m in 0..5 {
        a.write(&format!("data/t/m{m}/d/1/raw"), &format!("v{m}"));
    }
    a.bulk();
    assert_eq!(a.push(), 5);
    a
}

#[test]
fn a_push_after_one_mark_reads_and_writes_only_that_files_partition_of_the_base() {
    let remote = MemoryRemote::default();
    let mut a = five_models_pushed(&remote);
    let dir = a.path().join(crate::sync::base::BASE_DIR);
    // Another model's partition, made unreadable: a push that read it
    // would see a corrupt base and walk everything.
    let other = dir.join("data--t--m3.json");
    fs::write(&other, b"not json").unwrap();
    let before = fs::read(dir.join("data--t--m1.json")).unwrap();
    a.save("data/t/m1/d/1/raw", "edited");
    remote.reset_counters();
    assert_eq!(a.push(), 1);
    assert_eq!(fs::read(&other).unwrap(), b"not json", "left alone");
    let after = fs::read(dir.join("data--t--m1.json")).unwrap();
    assert_ne!(before, after, "the edited file's partition was rewritten");
    let files = crate::sync::state::StateFiles::at(a.path());
    let (part, ok) = files
        .load_base_for(&["data/t/m1/d/1/raw".to_string()])
        .unwrap();
    assert!(ok);
    let e = &part.entries["data/t/m1/d/1/raw"];
    assert_eq!(
        e.sha256.as_deref(),
        Some(
            crate::sync::local::hash_file(&a.path().join("data/t/m1/d/1/raw"))
                .unwrap()
                .0
                .as_str()
        )
    );
    assert_eq!(part.entries.len(), 1, "only that partition was read");
    // A whole read notices the corrupt partition, and so does a push that
    // needs it: that push walks everything and writes the base anew.
    assert!(!files.load_base().unwrap().1);
    a.save("data/t/m3/d/1/raw", "edited too");
    assert_eq!(a.push(), 1);
    let (whole, ok) = files.load_base().unwrap();
    assert!(ok);
    assert_eq!(whole.entries.len(), 5);
}

#[test]
fn a_pull_reads_and_writes_only_the_partitions_where_the_remote_index_changed() {
    let remote = MemoryRemote::default();
    let mut a = five_models_pushed(&remote);
    let mut b = Cache::new(&remote);
    assert_eq!(b.pull(), 5);
    let dir = b.path().join(crate::sync::base::BASE_DIR);
    // Another model's partition of b's base, made unreadable: a pull that
    // read it would see a corrupt base and rewrite it whole.
    let other = dir.join("data--t--m3.json");
    fs::write(&other, b"not json").unwrap();
    a.save("data/t/m1/d/1/raw", "edited");
    a.write("data/t/m5/d/1/raw", "new model");
    a.mark("data/t/m5/d/1/raw");
    assert_eq!(a.push(), 2);
    assert_eq!(b.pull(), 2);
    assert_eq!(b.read("data/t/m1/d/1/raw").as_deref(), Some("edited"));
    assert_eq!(b.read("data/t/m5/d/1/raw").as_deref(), Some("new model"));
    assert_eq!(fs::read(&other).unwrap(), b"not json", "left alone");
    // The changed partitions are recorded: nothing more to pull, and a
    // remote deletion of a whole partition still reaches b.
    assert_eq!(b.pull(), 0);
    a.rm("data/t/m4/d/1/raw");
    a.mark("data/t/m4/d/1/raw");
    assert_eq!(a.push(), 1);
    assert_eq!(b.pull(), 0);
    assert_eq!(b.read("data/t/m4/d/1/raw"), None, "the deletion arrived");
    assert_eq!(fs::read(&other).unwrap(), b"not json", "still left alone");
    // Without the summary, a pull reads the whole base again, and so finds
    // the corrupt partition (history unknown: local files are kept, not
    // overwritten) and writes the base anew.
    fs::remove_dir_all(dir.join("_summary")).unwrap();
    a.save("data/t/m0/d/1/raw", "edited too");
    assert_eq!(a.push(), 1);
    b.pull();
    assert_ne!(fs::read(&other).unwrap(), b"not json", "rewritten");
    let (whole, ok) = crate::sync::state::StateFiles::at(b.path())
        .load_base()
        .unwrap();
    assert!(ok);
    assert!(whole.entries.contains_key("data/t/m3/d/1/raw"));
    assert!(dir.join("_summary").is_dir(), "and the summary");
}
