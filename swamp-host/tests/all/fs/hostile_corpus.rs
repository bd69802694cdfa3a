//! The hostile input corpus (`hostile/`) against `fs-datastore`: every case
//! through the real component in the real host, on real directories.
//!
//! For each case: the outcome matches the expectation in the folder's
//! `expect.json` (an error of the stated kind whose message names what was
//! wrong, or the documented safe outcome); the instance still answers
//! afterwards (no trap); nothing outside the working directories changed
//! (sentinel files planted where `..` escapes would land); the stored good
//! data is byte-identical, and a refused input is left as it was.

use std::path::Path;

use crate::common;

use hostile_corpus::{
    Case, Content, GOOD, GOOD_REL, LOCAL, LOCAL_REL, NEW_REL, Outcome, Report, Sentinel, alive,
    brief, config_case, load, place, same_file, untouched,
};
use scenarios::s;
use serde_json::{Value, json};
use swamp_host::{LockOptions, OpenOptions, Plugin, Provider, SyncOptions, SyncService};

const BACKEND: &str = "fs";

async fn fs_plugin() -> Plugin {
    common::fs_plugin(&common::host()).await
}

/// A cache-mode provider on `share` and a sync service on `cache`.
async fn cached(
    plugin: &Plugin,
    share: &Path,
    cache: &Path,
    repo: &Path,
) -> (Provider, SyncService) {
    let provider = plugin
        .open(
            json!({"path": share, "cache": true}),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    let svc = provider
        .create_sync_service(s(repo), s(cache))
        .await
        .unwrap()
        .unwrap();
    (provider, svc)
}

fn expect_op(r: &mut Report, case: &Case, op: &str, got: &Outcome) {
    hostile_corpus::expect_op(r, case, BACKEND, op, got)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_configs_are_refused_with_their_path() {
    let plugin = fs_plugin().await;
    let mut r = Report::default();
    for case in load("config/fs") {
        let t0 = std::time::Instant::now();
        config_case(&plugin, &case, &mut r).await;
        r.done(&case, t0);
    }
    r.assert_clean("config/fs");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_rel_paths_are_refused_or_stay_inside_the_cache() {
    let plugin = fs_plugin().await;
    let sen = Sentinel::new(&["share", "cache", "repo"]);
    let (share, cache) = (sen.work("share"), sen.work("cache"));
    let (provider, svc) = cached(&plugin, &share, &cache, &sen.work("repo")).await;
    let mut r = Report::default();
    for case in load("rel-paths") {
        let t0 = std::time::Instant::now();
        let rel = case.text();
        let got = Outcome::of(svc.mark_dirty(&SyncOptions::rel_path(&rel)).await);
        expect_op(&mut r, &case, "mark_dirty", &got);
        let got = Outcome::of(svc.hydrate_file(&rel, &SyncOptions::default()).await);
        expect_op(&mut r, &case, "hydrate", &got);
        let lock = provider
            .create_lock(s(&share), LockOptions::with_key(&rel))
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
    r.assert_clean("rel-paths");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_index_files_are_refused_or_scrubbed() {
    let plugin = fs_plugin().await;
    let mut r = Report::default();
    for case in load("index") {
        let t0 = std::time::Instant::now();
        index_case(&plugin, &case, &mut r).await;
        r.done(&case, t0);
    }
    r.assert_clean("index");
}

async fn index_case(plugin: &Plugin, case: &Case, r: &mut Report) {
    let sen = Sentinel::new(&["share", "cache", "cache2", "repo"]);
    let share = sen.work("share");
    let good = share.join(GOOD_REL);
    place(&good, &Content::Bytes(GOOD.to_vec()));
    let at = share.join(case.field("at").unwrap());
    place(&at, &case.content);
    for (rel, text) in case
        .expect
        .get("also")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        place(
            &share.join(rel),
            &Content::Bytes(text.as_str().unwrap().as_bytes().to_vec()),
        );
    }
    let (cache, cache2, repo) = (sen.work("cache"), sen.work("cache2"), sen.work("repo"));
    let (provider, svc) = cached(plugin, &share, &cache, &repo).await;
    let pull = Outcome::of(svc.pull_changed(&SyncOptions::default()).await);
    expect_op(r, case, "pull", &pull);
    if matches!(pull, Outcome::Ok(Value::Number(ref n)) if n.as_u64() > Some(0)) {
        r.note(
            case,
            "pulled",
            same_file(&cache.join(GOOD_REL), GOOD, "pulled copy"),
        );
    }
    let svc2 = provider
        .create_sync_service(s(&repo), s(&cache2))
        .await
        .unwrap()
        .unwrap();
    svc2.mark_dirty(&SyncOptions::rel_path(NEW_REL))
        .await
        .unwrap();
    place(&cache2.join(NEW_REL), &Content::Bytes(b"new\n".to_vec()));
    let push = Outcome::of(svc2.push_changed(&SyncOptions::default()).await);
    expect_op(r, case, "push", &push);
    // Only a push writes the remote index: a refused one must leave the
    // hostile file as it was (a pull never writes the remote).
    if matches!(push, Outcome::Err { .. }) {
        r.note(case, "left untouched", untouched(&at, &case.content));
    }
    if matches!(push, Outcome::Ok(_)) {
        r.note(
            case,
            "pushed",
            same_file(&share.join(NEW_REL), b"new\n", "pushed file"),
        );
    }
    r.note(
        case,
        "good data",
        same_file(&good, GOOD, "stored good file"),
    );
    r.note(case, "alive", alive(&provider, &[&svc, &svc2]).await);
    r.note(case, "sentinel", sen.unchanged());
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_sidecars_mean_unknown_history() {
    let plugin = fs_plugin().await;
    let mut r = Report::default();
    for case in load("sidecar") {
        let t0 = std::time::Instant::now();
        let sen = Sentinel::new(&["share", "cache", "repo"]);
        let (share, cache) = (sen.work("share"), sen.work("cache"));
        let good = share.join(GOOD_REL);
        place(&good, &Content::Bytes(GOOD.to_vec()));
        place(&cache.join(LOCAL_REL), &Content::Bytes(LOCAL.to_vec()));
        place(&cache.join(case.field("at").unwrap()), &case.content);
        let (provider, svc) = cached(&plugin, &share, &cache, &sen.work("repo")).await;
        let push = Outcome::of(svc.push_changed(&SyncOptions::default()).await);
        expect_op(&mut r, &case, "push", &push);
        if matches!(push, Outcome::Ok(Value::Number(ref n)) if n.as_u64() == Some(1)) {
            r.note(
                &case,
                "pushed",
                same_file(&share.join(LOCAL_REL), LOCAL, "pushed file"),
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
            same_file(&good, GOOD, "stored good file"),
        );
        r.note(&case, "alive", alive(&provider, &[&svc]).await);
        r.note(&case, "sentinel", sen.unchanged());
        r.done(&case, t0);
    }
    r.assert_clean("sidecar");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_lock_files_are_refused_or_respected() {
    let plugin = fs_plugin().await;
    let mut r = Report::default();
    for case in load("lock") {
        let t0 = std::time::Instant::now();
        let sen = Sentinel::new(&["share"]);
        let share = sen.work("share");
        let key = case.field("at").unwrap_or(".datastore.lock");
        let at = share.join(key);
        place(&at, &case.content);
        let provider = plugin
            .open(json!({"path": share}), OpenOptions::default())
            .await
            .unwrap();
        let lock = provider.create_lock(s(&share), brief(key)).await.unwrap();
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
            Outcome::Err { .. } => r.note(&case, "left untouched", untouched(&at, &case.content)),
        }
        // A fresh handle still answers (no trap, no stuck instance).
        let fresh = provider.create_lock(s(&share), brief(key)).await;
        r.note(&case, "alive", common::fresh_lock_answers(fresh).await);
        r.note(&case, "alive", alive(&provider, &[]).await);
        r.note(&case, "sentinel", sen.unchanged());
        r.done(&case, t0);
    }
    r.assert_clean("lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_files_in_the_share_stay_inside() {
    let plugin = fs_plugin().await;
    let mut r = Report::default();
    for case in load("remote-files") {
        let t0 = std::time::Instant::now();
        let sen = Sentinel::new(&["share", "cache", "repo"]);
        let (share, cache) = (sen.work("share"), sen.work("cache"));
        let good = share.join(GOOD_REL);
        place(&good, &Content::Bytes(GOOD.to_vec()));
        remote_file(&share, &case);
        let (provider, svc) = cached(&plugin, &share, &cache, &sen.work("repo")).await;
        let pull = Outcome::of(svc.pull_changed(&SyncOptions::default()).await);
        expect_op(&mut r, &case, "pull", &pull);
        r.note(
            &case,
            "good data",
            same_file(&good, GOOD, "stored good file"),
        );
        r.note(&case, "alive", alive(&provider, &[&svc]).await);
        r.note(&case, "sentinel", sen.unchanged());
        r.done(&case, t0);
    }
    r.assert_clean("remote-files");
}

/// Make a remote-files case in the share: a file with a raw (non-UTF-8)
/// name, a symlink, or a directory, from its recipe.
fn remote_file(share: &Path, case: &Case) {
    use std::os::unix::ffi::OsStrExt;
    let recipe: Value = serde_json::from_slice(
        &std::fs::read(hostile_corpus::root().join(&case.folder).join(&case.name)).unwrap(),
    )
    .unwrap();
    if let Some(bytes) = recipe.get("file_bytes").and_then(Value::as_array) {
        let name: Vec<u8> = bytes.iter().map(|b| b.as_u64().unwrap() as u8).collect();
        let p = share.join(std::ffi::OsStr::from_bytes(&name));
        place(&p, &Content::Bytes(b"evil\n".to_vec()));
    } else if let Some(at) = recipe.get("symlink_at").and_then(Value::as_str) {
        let target = recipe["symlink"].as_str().unwrap().to_string();
        place(&share.join(at), &Content::Symlink(target));
    } else if let Some(at) = recipe.get("directory_at").and_then(Value::as_str) {
        place(&share.join(at), &Content::Directory);
    } else {
        panic!("{}: unknown remote-files recipe", case.id());
    }
}
