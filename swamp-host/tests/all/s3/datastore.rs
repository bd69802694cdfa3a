//! The real `s3-datastore` component in the real host (`swamp_host`),
//! against a real SeaweedFS started by the test itself
//! (`seaweedfs-fixture`): config, sandbox, SigV4, lock protocol, verifier,
//! multipart through sync. Objects are read back with the fixture's own,
//! independent SigV4 signer.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scenarios::s;
use seaweedfs_fixture::SeaweedFs;

use super::support::{self, host, plugin};
use swamp_host::{
    DatastoreError, Host, HostError, HostOptions, LockOptions, OpenOptions, SyncOptions,
};

const BUCKET: &str = "swamp-test";

/// This module's bucket on `s3`, under the prefix `team`.
fn config(s3: &SeaweedFs, bucket: &str) -> Value {
    support::config(s3, bucket, "team")
}

fn server() -> SeaweedFs {
    support::server(BUCKET)
}

fn fast(key: &str, ttl: u64) -> LockOptions {
    LockOptions::with_key(key)
        .ttl_ms(ttl)
        .retry_interval_ms(100)
        .max_wait_ms(1500)
}

#[tokio::test(flavor = "multi_thread")]
async fn config_is_validated_by_host_and_guest_and_names_the_sandbox() {
    let host = host();
    let plugin = plugin(&host).await;
    assert_eq!(plugin.info().datastore_type, "@swamp-wasm/s3-datastore");
    let schema = plugin.schema();
    assert_eq!(
        schema["properties"]["endpoint"]["x-swamp-endpoint"],
        json!(true)
    );
    assert_eq!(
        schema["x-swamp-env"],
        json!([
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN"
        ])
    );
    assert!(
        plugin
            .validate_config(&json!({"bucket": "my-bucket"}))
            .is_empty()
    );
    assert!(plugin.validate_config(&json!({"bucket": "abc", "endpoint": "http://127.0.0.1:9000", "forcePathStyle": true, "pullConcurrency": 10})).is_empty());
    for bad in [
        json!({}),
        json!({"bucket": "ab"}),
        json!({"bucket": "MyBucket"}),
        json!({"bucket": "abc", "endpoint": "nope"}),
        json!({"bucket": "abc", "pushConcurrency": 0}),
        json!({"bucket": "abc", "typo": 1}),
    ] {
        assert!(
            !plugin.validate_config(&bad).is_empty(),
            "host should refuse {bad}"
        );
    }
    // The guest checks again and lists every problem with its path.
    match plugin
        .open_unchecked(
            json!({"bucket": "AB", "requestTimeoutMs": 5, "forcePathstyle": true}),
            OpenOptions::default(),
        )
        .await
    {
        Err(HostError::Datastore(DatastoreError::InvalidConfig(problems))) => {
            let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
            for want in ["/bucket", "/requestTimeoutMs", "/forcePathstyle"] {
                assert!(paths.contains(&want), "{want} missing from {problems:?}");
            }
            let bucket = problems.iter().find(|p| p.path == "/bucket").unwrap();
            assert_eq!(
                bucket.message,
                "Bucket names must be 3-63 characters, lowercase, and contain only letters, numbers, hyphens, and dots"
            );
        }
        other => panic!("expected the guest to refuse, got {:?}", other.err()),
    }
    // The sandbox allows exactly the configured endpoint.
    let provider = plugin
        .open(
            json!({"bucket": "abc", "endpoint": "http://127.0.0.1:9", "forcePathStyle": true}),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    let allowed: Vec<String> = provider
        .policy()
        .allowed_authorities
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(allowed, vec!["http://127.0.0.1:9".to_string()]);
    assert_eq!(
        provider.resolve_datastore_path("/repo").await.unwrap(),
        "/repo/.swamp"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_lifecycle_with_swamps_key_and_json() {
    let s3 = server();
    let host = host();
    let plugin = plugin(&host).await;
    let provider = plugin
        .open(config(&s3, BUCKET), OpenOptions::default())
        .await
        .unwrap();
    let lock = provider
        .create_lock("/repo/.swamp", LockOptions::default())
        .await
        .unwrap();
    assert_eq!(lock.key(), ".datastore.lock");
    assert_eq!(lock.ttl(), Duration::from_millis(30_000));
    assert_eq!(lock.inspect().await.unwrap(), None);
    lock.acquire().await.unwrap();
    let info = lock.inspect().await.unwrap().expect("held");
    assert_eq!(info.pid, std::process::id());
    assert_eq!(info.ttl_ms, 30_000);
    // The object is `{prefix}/{key}` and its body is swamp's pretty JSON,
    // read back with the fixture's independent signer.
    let raw = s3
        .get_object(BUCKET, "team/.datastore.lock")
        .unwrap()
        .expect("lock object");
    let text = String::from_utf8(raw).unwrap();
    assert!(
        text.starts_with("{\n  \"holder\": ") && !text.ends_with('\n'),
        "{text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 6);
    assert_eq!(v["nonce"].as_str(), info.nonce.as_deref());
    // Re-acquiring a held handle is a conflict, never a double hold.
    match lock.acquire().await {
        Err(HostError::Datastore(DatastoreError::Conflict(_))) => {}
        other => panic!("expected conflict, got {other:?}"),
    }
    lock.heartbeat().await.unwrap();
    let after = lock.inspect().await.unwrap().unwrap();
    assert_eq!(after.nonce, info.nonce);
    lock.release().await.unwrap();
    lock.release().await.unwrap();
    assert!(!s3.object_exists(BUCKET, "team/.datastore.lock").unwrap());
    // force-release: wrong nonce keeps it, right nonce deletes it.
    lock.acquire().await.unwrap();
    let nonce = lock.inspect().await.unwrap().unwrap().nonce.unwrap();
    assert!(!lock.force_release("wrong-nonce-value").await.unwrap());
    assert!(lock.inspect().await.unwrap().is_some());
    assert!(lock.force_release(&nonce).await.unwrap());
    assert_eq!(lock.inspect().await.unwrap(), None);
    match lock.heartbeat().await {
        Err(HostError::Datastore(DatastoreError::LockLost(_))) => {}
        other => panic!("a force-released lock must fail its heartbeat, got {other:?}"),
    }
    // A per-model key keeps its path under the prefix.
    let model = provider
        .create_lock("/repo/.swamp", fast("data/aws/vpc/m1/.lock", 30_000))
        .await
        .unwrap();
    model.acquire().await.unwrap();
    assert!(
        s3.object_exists(BUCKET, "team/data/aws/vpc/m1/.lock")
            .unwrap()
    );
    model.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_contenders_exactly_one_wins_and_the_loser_names_the_holder() {
    let s3 = server();
    let host = host();
    let plugin = plugin(&host).await;
    let provider = plugin
        .open(config(&s3, BUCKET), OpenOptions::default())
        .await
        .unwrap();
    let a = provider
        .create_lock("/r", fast("race.lock", 30_000))
        .await
        .unwrap();
    let b = provider
        .create_lock("/r", fast("race.lock", 30_000))
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(a.acquire(), b.acquire());
    let (winner, loser_err) = match (ra, rb) {
        (Ok(()), Err(e)) => (&a, e),
        (Err(e), Ok(())) => (&b, e),
        other => panic!("exactly one must win: {other:?}"),
    };
    match loser_err {
        HostError::Datastore(DatastoreError::LockTimeout {
            lock_key,
            holder,
            waited_ms,
        }) => {
            assert_eq!(lock_key, "race.lock");
            assert!(waited_ms >= 1500);
            let holder = holder.expect("the holder is named");
            assert_eq!(holder.nonce, winner.inspect().await.unwrap().unwrap().nonce);
        }
        other => panic!("expected lock-timeout, got {other:?}"),
    }
    winner.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_lock_is_taken_over_and_the_old_holder_is_fenced() {
    let s3 = server();
    let host = host();
    let plugin = plugin(&host).await;
    let provider = plugin
        .open(config(&s3, BUCKET), OpenOptions::default())
        .await
        .unwrap();
    let old = provider
        .create_lock("/r", fast("stale.lock", 1500))
        .await
        .unwrap();
    old.acquire().await.unwrap();
    old.pause_heartbeats(true);
    let old_nonce = old.inspect().await.unwrap().unwrap().nonce;
    let new = provider
        .create_lock(
            "/r",
            LockOptions::with_key("stale.lock")
                .ttl_ms(30_000)
                .retry_interval_ms(200)
                .max_wait_ms(15_000),
        )
        .await
        .unwrap();
    let t = Instant::now();
    new.acquire().await.unwrap();
    // Staleness is judged on the server's clock with 1 s resolution.
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "taken over too early: {:?}",
        t.elapsed()
    );
    let now = new.inspect().await.unwrap().unwrap();
    assert_ne!(now.nonce, old_nonce);
    // The old holder's heartbeat must not overwrite the successor.
    match old.heartbeat().await {
        Err(HostError::Datastore(DatastoreError::LockLost(m))) => {
            assert!(m.contains("taken over"), "{m}")
        }
        other => panic!("expected lock-lost, got {other:?}"),
    }
    assert_eq!(new.inspect().await.unwrap().unwrap().nonce, now.nonce);
    // Nor does its release delete the successor's lock.
    old.release().await.unwrap();
    assert_eq!(new.inspect().await.unwrap().unwrap().nonce, now.nonce);
    new.release().await.unwrap();
    assert_eq!(new.inspect().await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn verifier_healthy_and_clear_about_403_404_and_unreachable() {
    let s3 = server();
    let host = host();
    let plugin = plugin(&host).await;
    let verify = |cfg: Value| {
        let plugin = plugin.clone();
        async move {
            let p = plugin.open(cfg, OpenOptions::default()).await.unwrap();
            p.create_verifier().await.unwrap().verify().await.unwrap()
        }
    };
    let ok = verify(config(&s3, BUCKET)).await;
    assert!(ok.healthy, "{ok:?}");
    assert_eq!(ok.message, format!("S3 bucket '{BUCKET}' is accessible"));
    assert!(ok.latency_ms > 0.0);
    assert_eq!(ok.datastore_type, "@swamp-wasm/s3-datastore");
    assert!(ok.details.iter().any(|(k, v)| k == "bucket" && v == BUCKET));
    // The probe key is cleaned up (listed by boto3: the fixture's signer
    // cannot sign a query string, so its listing would be refused).
    if support::boto3().is_ok() {
        assert_eq!(
            support::list_keys(&s3, BUCKET, "team/.swamp-health"),
            Vec::<String>::new()
        );
    }

    let mut wrong = config(&s3, BUCKET);
    wrong["secretAccessKey"] = json!("not-the-secret");
    let r = verify(wrong).await;
    assert!(!r.healthy);
    assert!(
        r.message.contains("403") && r.message.contains("credentials"),
        "{}",
        r.message
    );

    let r = verify(config(&s3, "no-such-bucket")).await;
    assert!(!r.healthy);
    assert!(
        r.message.contains("404") && r.message.contains("does not exist"),
        "{}",
        r.message
    );

    let mut reader = config(&s3, BUCKET);
    reader["accessKeyId"] = json!(s3.reader().access_key);
    reader["secretAccessKey"] = json!(s3.reader().secret_key);
    let r = verify(reader).await;
    assert!(!r.healthy, "a read-only identity cannot hold locks: {r:?}");
    assert!(r.message.contains("403"), "{}", r.message);

    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let mut unreachable = config(&s3, BUCKET);
    unreachable["endpoint"] = json!(format!("http://127.0.0.1:{port}"));
    unreachable["requestTimeoutMs"] = json!(1000);
    let r = verify(unreachable).await;
    assert!(!r.healthy);
    assert!(r.message.contains("unreachable"), "{}", r.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_pass_through_the_environment_only_when_listed() {
    let s3 = server();
    let (ak, sk) = (s3.access_key().to_string(), s3.secret_key().to_string());
    let host = Host::new(HostOptions {
        cache_dir: None,
        env_source: Arc::new(move |k| match k {
            "AWS_ACCESS_KEY_ID" => Some(ak.clone()),
            "AWS_SECRET_ACCESS_KEY" => Some(sk.clone()),
            _ => None,
        }),
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = plugin(&host).await;
    let mut cfg = config(&s3, BUCKET);
    let o = cfg.as_object_mut().unwrap();
    o.remove("accessKeyId");
    o.remove("secretAccessKey");
    let provider = plugin
        .open(cfg.clone(), OpenOptions::default())
        .await
        .unwrap();
    let health = provider
        .create_verifier()
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(health.healthy, "{health:?}");
    // Without them, the guest says what to set.
    let bare = self::host();
    let plugin = self::plugin(&bare).await;
    let provider = plugin.open(cfg, OpenOptions::default()).await.unwrap();
    let health = provider
        .create_verifier()
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(
        !health.healthy && health.message.contains("AWS_ACCESS_KEY_ID"),
        "{health:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_round_trip_with_a_multipart_object() {
    let s3 = server();
    let host = host();
    let plugin = plugin(&host).await;
    let provider = plugin
        .open(config(&s3, BUCKET), OpenOptions::default())
        .await
        .unwrap();
    assert!(provider.features().await.unwrap().sync);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let (ca, cb) = (dir.path().join("cache-a"), dir.path().join("cache-b"));
    let a = provider
        .create_sync_service(s(&repo), s(&ca))
        .await
        .unwrap()
        .unwrap();
    let b = provider
        .create_sync_service(s(&repo), s(&cb))
        .await
        .unwrap()
        .unwrap();

    // 20 MiB + 3 bytes: above the 16 MiB threshold, three parts.
    let big_rel = "data/aws/vpc/v1/state/1/raw";
    let big: Vec<u8> = (0..(20 * 1024 * 1024 + 3))
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::create_dir_all(ca.join(big_rel).parent().unwrap()).unwrap();
    std::fs::write(ca.join(big_rel), &big).unwrap();
    std::fs::write(ca.join("data/aws/vpc/v1/state/latest"), b"1").unwrap();
    let pushed = a.push_changed(&SyncOptions::default()).await.unwrap();
    assert_eq!(pushed, 2);
    // Read back with the independent signer: same bytes, multipart ETag.
    let remote = s3
        .get_object(BUCKET, &format!("team/{big_rel}"))
        .unwrap()
        .expect("uploaded");
    assert!(
        remote == big,
        "multipart object differs ({} vs {} bytes)",
        remote.len(),
        big.len()
    );
    // The index records the hash of the whole file, built up part by part
    // as the upload read them.
    let index: serde_json::Value = serde_json::from_slice(
        &s3.get_object(BUCKET, "team/.datastore-index.json")
            .unwrap()
            .expect("the index was written"),
    )
    .unwrap();
    use sha2::Digest as _;
    assert_eq!(
        index["entries"][big_rel]["sha256"],
        hex::encode(sha2::Sha256::digest(&big))
    );

    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 2);
    assert!(std::fs::read(cb.join(big_rel)).unwrap() == big);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 0);
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 0);
}

/// The index, its meta and its shards are stored as JSON (which also
/// keeps SeaweedFS from gzipping every index write, guest/s3/src/remote.rs);
/// a data file is stored as sent, untyped, even when its name ends in
/// `.json`.
#[tokio::test(flavor = "multi_thread")]
async fn index_objects_are_typed_json_and_data_files_are_not() {
    let s3 = server();
    let host = host();
    let provider = support::open(&plugin(&host).await, config(&s3, BUCKET)).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let a = support::sync(&provider, &cache).await;
    let data = "data/aws/vpc/v1/state/1/report.json";
    support::write(&cache, data, b"{\"not\": \"ours\"}");
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    let typed = |key: &str| s3.content_type(BUCKET, &format!("team/{key}")).unwrap();
    let json = Some("application/json".to_string());
    assert_eq!(typed(".datastore-index.json"), json);
    assert_eq!(typed("_index/_meta.json"), json);
    assert_eq!(typed("_index/data--aws--vpc--v1.json"), json);
    assert!(
        s3.object_exists(BUCKET, &format!("team/{data}")).unwrap(),
        "the data file was pushed"
    );
    assert_ne!(typed(data), json, "a data file got the index's type");
}

/// A zero-diff pull asks for `_meta.json` only if it changed since it was
/// last read (`If-None-Match`, guest/s3/src/remote.rs): the server must
/// answer 304 to that, and 200 once the meta changed; and a pull still
/// sees the next commit.
#[tokio::test(flavor = "multi_thread")]
async fn the_meta_is_read_again_only_when_it_changed() {
    let s3 = server();
    let host = host();
    let provider = support::open(&plugin(&host).await, config(&s3, BUCKET)).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = (
        support::sync(&provider, &ca).await,
        support::sync(&provider, &cb).await,
    );
    let rel = "data/aws/vpc/v1/state/1/raw";
    support::write(&ca, rel, b"one");
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 1);
    let key = "team/_index/_meta.json";
    let etag = s3
        .etag(BUCKET, key)
        .unwrap()
        .expect("a push writes the meta");
    assert_eq!(s3.get_status_unless(BUCKET, key, &etag).unwrap(), 304);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 0);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 0);
    // A new partition changes the meta; both sides see it.
    support::write(&ca, "data/aws/subnet/v1/state/1/raw", b"two");
    a.mark_dirty(&SyncOptions::default()).await.unwrap();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(s3.get_status_unless(BUCKET, key, &etag).unwrap(), 200);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(
        std::fs::read(cb.join("data/aws/subnet/v1/state/1/raw")).unwrap(),
        b"two"
    );
}

// ---- `swamp model method run` and a workflow step, as swamp drives them
// (the scenario and why: test-support/scenarios/src/lib.rs) ----

#[tokio::test(flavor = "multi_thread")]
async fn a_model_method_run_pushes_every_marked_file_whatever_the_context() {
    let s3 = server();
    let host = host();
    let plugin = plugin(&host).await;
    let provider = plugin
        .open(config(&s3, BUCKET), OpenOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    scenarios::model_method_run(&provider, &repo, dir.path(), &Bucket(&s3)).await;
}

/// The test bucket under the config's prefix, read with the fixture's own
/// signer.
struct Bucket<'a>(&'a SeaweedFs);

impl scenarios::Store for Bucket<'_> {
    fn holds_lock(&self, key: &str) -> bool {
        self.0
            .object_exists(BUCKET, &format!("team/{key}"))
            .unwrap()
    }
    fn holds_files(&self, files: &BTreeMap<String, Vec<u8>>) {
        let entries = support::remote_entries(self.0, BUCKET, "team/");
        for (rel, bytes) in files {
            let got = self.0.get_object(BUCKET, &format!("team/{rel}")).unwrap();
            assert!(
                got.as_ref() == Some(bytes),
                "team/{rel} is not in the bucket as written"
            );
            assert!(entries.contains_key(rel), "no index entry for {rel}");
        }
    }
}
