//! The hostile input corpus (`hostile/`) against `s3-datastore`: every case
//! through the real component in the real host, against one real SeaweedFS
//! this test starts (each case under a prefix of its own, so no case
//! poisons another).
//!
//! For each case: the outcome matches the folder's `expect.json` (an `s3`
//! entry overrides the shared one); the instance still answers afterwards
//! (no trap); nothing outside the cache directories changed (sentinel
//! files planted where `..` escapes would land); the good object is
//! byte-identical, and an index a push refused is left as it was.

use std::sync::atomic::{AtomicUsize, Ordering};

use hostile_corpus::{
    Case, Content, GOOD, GOOD_REL, LOCAL, LOCAL_REL, NEW_REL, Outcome, Report, Sentinel, alive,
    brief, config_case, load, place, same_file,
};
use seaweedfs_fixture::SeaweedFs;
use serde_json::Value;
use swamp_host::{LockOptions, Plugin, SyncOptions};

use super::support::{self, config, host, open, plugin, sync};
use crate::common;

const BACKEND: &str = "s3";
const BUCKET: &str = "hostile";

fn expect_op(r: &mut Report, case: &Case, op: &str, got: &Outcome) {
    hostile_corpus::expect_op(r, case, BACKEND, op, got)
}

/// A case the S3 backend cannot represent (a symlink lock object), with
/// the reason in `expect.json` (`"s3": {"skip": why}`).
fn not_applicable(case: &Case) -> bool {
    case.expect
        .get(BACKEND)
        .and_then(|b| b.get("skip"))
        .and_then(Value::as_str)
        .is_some()
}

/// A fresh prefix per case.
fn prefix(folder: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        folder.replace('/', "-"),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn object_is(s3: &SeaweedFs, key: &str, want: &[u8], what: &str) -> Result<(), String> {
    match s3.get_object(BUCKET, key) {
        Ok(Some(b)) if b == want => Ok(()),
        Ok(Some(_)) => Err(format!("{what} {key} was changed")),
        Ok(None) => Err(format!("{what} {key} is gone")),
        Err(e) => Err(format!("{what} {key}: {e}")),
    }
}

fn put(s3: &SeaweedFs, key: &str, body: &[u8]) {
    s3.put_object(BUCKET, key, body)
        .unwrap_or_else(|e| panic!("cannot put {key}: {e}"));
}

async fn s3_plugin() -> Plugin {
    plugin(&host()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_corpus_on_s3() {
    // One server for every case, owned here so that it is stopped when the
    // test ends (a server in a static is never dropped: it would outlive
    // the test binary).
    let server = support::server(BUCKET);
    let s3 = &server;
    let plugin = s3_plugin().await;
    let mut failures = Vec::new();
    let mut total = 0;
    for (label, r) in [
        ("config/s3", configs(&plugin).await),
        ("rel-paths", rel_paths(s3, &plugin).await),
        ("index", indexes(s3, &plugin).await),
        ("sidecar", sidecars(s3, &plugin).await),
        ("lock", locks(s3, &plugin).await),
        ("bucket-keys", bucket_keys(s3, &plugin).await),
    ] {
        total += r.ran;
        if let Err(e) = std::panic::catch_unwind(|| r.assert_clean(label)) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("s3: {total} hostile cases passed");
}

async fn configs(plugin: &Plugin) -> Report {
    let mut r = Report::default();
    for case in load("config/s3") {
        let t0 = std::time::Instant::now();
        config_case(plugin, &case, &mut r).await;
        r.done(&case, t0);
    }
    r
}

async fn rel_paths(s3: &SeaweedFs, plugin: &Plugin) -> Report {
    let mut r = Report::default();
    let sen = Sentinel::new(&["cache", "cache.repo"]);
    let provider = open(plugin, config(s3, BUCKET, &prefix("rel-paths"))).await;
    let svc = sync(&provider, &sen.work("cache")).await;
    for case in load("rel-paths") {
        let t0 = std::time::Instant::now();
        let rel = case.text();
        let got = Outcome::of(svc.mark_dirty(&SyncOptions::rel_path(&rel)).await);
        expect_op(&mut r, &case, "mark_dirty", &got);
        let got = Outcome::of(svc.hydrate_file(&rel, &SyncOptions::default()).await);
        expect_op(&mut r, &case, "hydrate", &got);
        let lock = provider
            .create_lock("/r", LockOptions::with_key(&rel))
            .await
            .map(|_| ());
        expect_op(&mut r, &case, "lock_key", &Outcome::of(lock));
        r.note(&case, "alive", alive(&provider, &[&svc]).await);
        r.note(&case, "sentinel", sen.unchanged());
        r.done(&case, t0);
    }
    // The odd marks that were accepted do not poison the next sync.
    let push = svc.push_changed(&SyncOptions::default()).await;
    assert!(push.is_ok(), "push after the corpus: {push:?}");
    let pull = svc.pull_changed(&SyncOptions::default()).await;
    assert!(pull.is_ok(), "pull after the corpus: {pull:?}");
    sen.unchanged().unwrap();
    r
}

async fn indexes(s3: &SeaweedFs, plugin: &Plugin) -> Report {
    let mut r = Report::default();
    for case in load("index") {
        let t0 = std::time::Instant::now();
        let sen = Sentinel::new(&["cache", "cache.repo", "cache2", "cache2.repo"]);
        let p = prefix("index");
        let key = |rel: &str| format!("{p}/{rel}");
        put(s3, &key(GOOD_REL), GOOD);
        let at = key(case.field("at").unwrap());
        put(s3, &at, case.bytes());
        for (rel, text) in case
            .expect
            .get("also")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            put(s3, &key(rel), text.as_str().unwrap().as_bytes());
        }
        let provider = open(plugin, config(s3, BUCKET, &p)).await;
        let (cache, cache2) = (sen.work("cache"), sen.work("cache2"));
        let svc = sync(&provider, &cache).await;
        let pull = Outcome::of(svc.pull_changed(&SyncOptions::default()).await);
        expect_op(&mut r, &case, "pull", &pull);
        if matches!(pull, Outcome::Ok(Value::Number(ref n)) if n.as_u64() > Some(0)) {
            r.note(
                &case,
                "pulled",
                same_file(&cache.join(GOOD_REL), GOOD, "pulled copy"),
            );
        }
        let svc2 = sync(&provider, &cache2).await;
        svc2.mark_dirty(&SyncOptions::rel_path(NEW_REL))
            .await
            .unwrap();
        place(&cache2.join(NEW_REL), &Content::Bytes(b"new\n".to_vec()));
        let push = Outcome::of(svc2.push_changed(&SyncOptions::default()).await);
        expect_op(&mut r, &case, "push", &push);
        match push {
            // A refused push leaves the hostile index as it was.
            Outcome::Err { .. } => r.note(
                &case,
                "left untouched",
                object_is(s3, &at, case.bytes(), "refused input"),
            ),
            Outcome::Ok(_) => r.note(
                &case,
                "pushed",
                object_is(s3, &key(NEW_REL), b"new\n", "pushed object"),
            ),
        }
        r.note(
            &case,
            "good data",
            object_is(s3, &key(GOOD_REL), GOOD, "stored good object"),
        );
        r.note(&case, "alive", alive(&provider, &[&svc, &svc2]).await);
        r.note(&case, "sentinel", sen.unchanged());
        r.done(&case, t0);
    }
    r
}

async fn sidecars(s3: &SeaweedFs, plugin: &Plugin) -> Report {
    let mut r = Report::default();
    for case in load("sidecar") {
        let t0 = std::time::Instant::now();
        let sen = Sentinel::new(&["cache", "cache.repo"]);
        let p = prefix("sidecar");
        let key = |rel: &str| format!("{p}/{rel}");
        put(s3, &key(GOOD_REL), GOOD);
        let cache = sen.work("cache");
        place(&cache.join(LOCAL_REL), &Content::Bytes(LOCAL.to_vec()));
        place(&cache.join(case.field("at").unwrap()), &case.content);
        let provider = open(plugin, config(s3, BUCKET, &p)).await;
        let svc = sync(&provider, &cache).await;
        let push = Outcome::of(svc.push_changed(&SyncOptions::default()).await);
        expect_op(&mut r, &case, "push", &push);
        if matches!(push, Outcome::Ok(Value::Number(ref n)) if n.as_u64() == Some(1)) {
            r.note(
                &case,
                "pushed",
                object_is(s3, &key(LOCAL_REL), LOCAL, "pushed object"),
            );
        }
        let pull = Outcome::of(svc.pull_changed(&SyncOptions::default()).await);
        expect_op(&mut r, &case, "pull", &pull);
        if matches!(pull, Outcome::Ok(Value::Number(ref n)) if n.as_u64() > Some(0)) {
            r.note(
                &case,
                "pulled",
                same_file(&cache.join(GOOD_REL), GOOD, "pulled copy"),
            );
        }
        r.note(
            &case,
            "local data",
            same_file(&cache.join(LOCAL_REL), LOCAL, "local file"),
        );
        r.note(
            &case,
            "good data",
            object_is(s3, &key(GOOD_REL), GOOD, "stored good object"),
        );
        r.note(&case, "alive", alive(&provider, &[&svc]).await);
        r.note(&case, "sentinel", sen.unchanged());
        r.done(&case, t0);
    }
    r
}

async fn locks(s3: &SeaweedFs, plugin: &Plugin) -> Report {
    let mut r = Report::default();
    for case in load("lock") {
        if not_applicable(&case) {
            continue;
        }
        let t0 = std::time::Instant::now();
        let p = prefix("lock");
        let lock_key = case.field("at").unwrap_or(".datastore.lock");
        let at = format!("{p}/{lock_key}");
        put(s3, &at, case.bytes());
        let provider = open(plugin, config(s3, BUCKET, &p)).await;
        let lock = provider.create_lock("/r", brief(lock_key)).await.unwrap();
        let inspect = Outcome::of(lock.inspect().await.map(|i| i.map(|_| "held")));
        expect_op(&mut r, &case, "inspect", &inspect);
        let acquire = Outcome::of(lock.acquire().await);
        expect_op(&mut r, &case, "acquire", &acquire);
        match acquire {
            Outcome::Ok(_) => r.note(
                &case,
                "release",
                lock.release().await.map_err(|e| e.to_string()),
            ),
            Outcome::Err { .. } => r.note(
                &case,
                "left untouched",
                object_is(s3, &at, case.bytes(), "refused lock"),
            ),
        }
        let fresh = provider.create_lock("/r", brief(lock_key)).await;
        r.note(&case, "alive", common::fresh_lock_answers(fresh).await);
        r.note(&case, "alive", alive(&provider, &[]).await);
        r.done(&case, t0);
    }
    r
}

/// Odd object keys beside a good object. `pull`: no index, the pull
/// discovers them from a listing; `pull_indexed`: a monolith index lists
/// the odd key beside the good entry. A key the store itself refuses
/// (SeaweedFS answers 400 for a backslash) gets only the index variant.
async fn bucket_keys(s3: &SeaweedFs, plugin: &Plugin) -> Report {
    let mut r = Report::default();
    for case in load("bucket-keys") {
        let t0 = std::time::Instant::now();
        for indexed in [false, true] {
            let sen = Sentinel::new(&["cache", "cache.repo"]);
            let p = prefix("bucket-keys");
            let good = format!("{p}/{GOOD_REL}");
            put(s3, &good, GOOD);
            let evil = format!("{p}/{}", case.text());
            let stored = s3.put_object(BUCKET, &evil, b"evil\n").is_ok();
            if !stored && !indexed {
                eprintln!(
                    "{}: the store refuses the key {evil:?}; index variant only",
                    case.id()
                );
                continue;
            }
            if indexed {
                let index = serde_json::json!({"version": 1, "lastPulled": "", "entries": {
                    GOOD_REL: {"key": GOOD_REL, "size": GOOD.len(), "lastModified": ""},
                    case.text(): {"key": case.text(), "size": 5, "lastModified": ""},
                }});
                put(
                    s3,
                    &format!("{p}/.datastore-index.json"),
                    index.to_string().as_bytes(),
                );
            }
            let provider = open(plugin, config(s3, BUCKET, &p)).await;
            let cache = sen.work("cache");
            let svc = sync(&provider, &cache).await;
            let op = if indexed { "pull_indexed" } else { "pull" };
            let pull = Outcome::of(svc.pull_changed(&SyncOptions::default()).await);
            expect_op(&mut r, &case, op, &pull);
            if matches!(pull, Outcome::Ok(_)) {
                r.note(
                    &case,
                    op,
                    same_file(&cache.join(GOOD_REL), GOOD, "pulled copy"),
                );
            }
            r.note(
                &case,
                "good data",
                object_is(s3, &good, GOOD, "stored good object"),
            );
            // (`store_mangles`: the store keeps no body for this key.)
            if stored && case.expect.get("store_mangles").is_none() {
                r.note(
                    &case,
                    "odd object",
                    object_is(s3, &evil, b"evil\n", "odd object"),
                );
            }
            r.note(&case, "alive", alive(&provider, &[&svc]).await);
            r.note(&case, "sentinel", sen.unchanged());
        }
        r.done(&case, t0);
    }
    r
}
