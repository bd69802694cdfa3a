//! What the conformance suite cannot see: concurrent writers racing on the
//! index (compare-and-swap), guests whose wall clock is an hour off (lock
//! staleness is judged on the server's clock), and a flaky network between
//! guest and bucket (a proxy that answers 503, 403 or resets the
//! connection, and counts what it saw); an object altered in the bucket
//! behind the index's back (the bucket side of `sync.download-verified`);
//! a guest with many requests in flight, bounded by the host per authority.

use std::time::{Duration, Instant};

use swamp_host::{DatastoreError, HostError, LockOptions, SyncOptions};

use super::support::proxy::{Fault, Proxy};
use super::support::*;

const BUCKET: &str = "robust";

#[tokio::test(flavor = "multi_thread")]
async fn an_object_altered_behind_the_index_is_refused_and_never_cached() {
    let s3 = server(BUCKET);
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, "altered")).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let a = sync(&provider, &ca).await;
    let rel = "data/t/m/out/1/raw";
    a.mark_dirty(&SyncOptions::rel_path(rel)).await.unwrap();
    write(&ca, rel, b"the bytes that were pushed");
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    // Same size, other bytes; the index still lists the pushed sha256.
    s3.put_object(
        BUCKET,
        &format!("altered/{rel}"),
        b"The bytes that were pushed",
    )
    .unwrap();
    let b = sync(&provider, &cb).await;
    match b.pull_changed(&SyncOptions::default()).await {
        Err(HostError::Datastore(DatastoreError::CorruptData(m))) => {
            assert!(m.contains(rel) && m.contains("sha256"), "{m}")
        }
        other => panic!("expected corrupt-data, got {other:?}"),
    }
    assert!(
        !cb.join(rel).exists(),
        "the altered bytes reached the cache"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_pushes_of_disjoint_files_lose_no_index_entry() {
    const ROUNDS: usize = 8;
    let s3 = server(BUCKET);
    let host = host();
    let plugin = plugin(&host).await;
    let (pa, pb) = (
        open(&plugin, config(&s3, BUCKET, "cas")).await,
        open(&plugin, config(&s3, BUCKET, "cas")).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = (sync(&pa, &ca).await, sync(&pb, &cb).await);
    let mut expected = Vec::new();
    for i in 0..ROUNDS {
        let (ra, rb) = (
            format!("data/team-a/model/f{i}/1/raw"),
            format!("data/team-b/model/f{i}/1/raw"),
        );
        write(&ca, &ra, format!("a{i}").as_bytes());
        write(&cb, &rb, format!("b{i}").as_bytes());
        a.mark_dirty(&SyncOptions::rel_path(&ra)).await.unwrap();
        b.mark_dirty(&SyncOptions::rel_path(&rb)).await.unwrap();
        let opts = SyncOptions::default();
        let (na, nb) = tokio::join!(a.push_changed(&opts), b.push_changed(&opts));
        assert_eq!(na.unwrap(), 1, "round {i}: A pushes its one file");
        assert_eq!(nb.unwrap(), 1, "round {i}: B pushes its one file");
        expected.push(ra);
        expected.push(rb);
    }
    expected.sort();
    let entries = remote_entries(&s3, BUCKET, "cas/");
    let mut listed: Vec<String> = entries.keys().cloned().collect();
    listed.sort();
    assert_eq!(listed, expected, "the remote index lost entries");
    // Every entry is what its writer pushed.
    for rel in &expected {
        let body = s3
            .get_object(BUCKET, &format!("cas/{rel}"))
            .unwrap()
            .unwrap();
        assert_eq!(entries[rel]["size"], body.len(), "{rel}");
    }
    // A fresh reader gets all of it; each writer gets the other's files.
    let c = sync(&pa, &dir.path().join("c")).await;
    let opts = SyncOptions::default();
    assert_eq!(c.pull_changed(&opts).await.unwrap() as usize, 2 * ROUNDS);
    assert_eq!(a.pull_changed(&opts).await.unwrap() as usize, ROUNDS);
    assert_eq!(b.pull_changed(&opts).await.unwrap() as usize, ROUNDS);
    assert_eq!(a.push_changed(&opts).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_an_hour_ahead_does_not_take_over_a_live_lock() {
    let s3 = server(BUCKET);
    let (normal, ahead) = (host(), host_with_skew(3_600_000));
    let config = config(&s3, BUCKET, "clock");
    let holder_p = open(&plugin(&normal).await, config.clone()).await;
    let contender_p = open(&plugin(&ahead).await, config).await;
    // Heartbeats every second keep a 3 s lease alive.
    let holder = holder_p
        .create_lock("/r", LockOptions::with_key("live.lock").ttl_ms(3000))
        .await
        .unwrap();
    holder.acquire().await.unwrap();
    let nonce = holder.inspect().await.unwrap().unwrap().nonce;
    let contender = contender_p
        .create_lock(
            "/r",
            LockOptions::with_key("live.lock")
                .ttl_ms(3000)
                .retry_interval_ms(200)
                .max_wait_ms(7000),
        )
        .await
        .unwrap();
    let t = Instant::now();
    match contender.acquire().await {
        Err(HostError::Datastore(DatastoreError::LockTimeout { holder: h, .. })) => {
            assert_eq!(h.expect("holder named").nonce, nonce);
        }
        other => panic!("a clock an hour ahead must not steal a live lock: {other:?}"),
    }
    assert!(t.elapsed() >= Duration::from_millis(6500));
    holder.heartbeat().await.unwrap();
    assert_eq!(holder.inspect().await.unwrap().unwrap().nonce, nonce);
    holder.release().await.unwrap();
    // With the holder gone, the skewed guest takes it at once.
    contender.acquire().await.unwrap();
    contender.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clock_an_hour_behind_still_takes_over_an_expired_lock() {
    let s3 = server(BUCKET);
    let (normal, behind) = (host(), host_with_skew(-3_600_000));
    let config = config(&s3, BUCKET, "clock");
    let old_p = open(&plugin(&normal).await, config.clone()).await;
    let new_p = open(&plugin(&behind).await, config).await;
    let old = old_p
        .create_lock("/r", LockOptions::with_key("stale.lock").ttl_ms(1500))
        .await
        .unwrap();
    old.acquire().await.unwrap();
    old.pause_heartbeats(true);
    let old_nonce = old.inspect().await.unwrap().unwrap().nonce;
    let new = new_p
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
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "taken over before the lease ran out: {:?}",
        t.elapsed()
    );
    assert_ne!(new.inspect().await.unwrap().unwrap().nonce, old_nonce);
    match old.heartbeat().await {
        Err(HostError::Datastore(DatastoreError::LockLost(_))) => {}
        other => panic!("the old holder must learn it lost the lock: {other:?}"),
    }
    new.release().await.unwrap();
}

/// The number of times `what` was sent.
fn sent(proxy: &Proxy, what: &str) -> usize {
    proxy.seen().iter().filter(|s| s.as_str() == what).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn push_and_pull_ride_out_503s_and_resets_but_a_403_is_not_retried() {
    let s3 = server(BUCKET);
    let proxy = Proxy::start(format!("127.0.0.1:{}", s3.port())).await;
    let host = host();
    let plugin = plugin(&host).await;
    let mut cfg = config(&s3, BUCKET, "flaky");
    cfg["endpoint"] = serde_json::json!(proxy.endpoint());
    let provider = open(&plugin, cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let rel = "data/aws/vpc/v1/state/1/raw";
    let data_put = format!("PUT /{BUCKET}/flaky/{rel}");
    let index_put = format!("PUT /{BUCKET}/flaky/.datastore-index.json");
    let data_get = format!("GET /{BUCKET}/flaky/{rel}");

    // Push: the data upload gets a 503 then a reset; the index
    // compare-and-swap gets a reset (did it land? the guest reads back).
    write(&ca, rel, b"state");
    let a = sync(&provider, &ca).await;
    proxy.fail_next(1, &data_put, Fault::Status(503, "SlowDown"));
    proxy.fail_next(1, &data_put, Fault::Reset);
    proxy.fail_next(1, &index_put, Fault::Reset);
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(proxy.faulted().len(), 3, "{:?}", proxy.seen());
    assert_eq!(sent(&proxy, &data_put), 3, "{:?}", proxy.seen());
    assert!(sent(&proxy, &index_put) >= 2, "{:?}", proxy.seen());
    assert_eq!(
        s3.get_object(BUCKET, &format!("flaky/{rel}"))
            .unwrap()
            .unwrap(),
        b"state"
    );
    assert_eq!(remote_entries(&s3, BUCKET, "flaky/").len(), 1);

    // Pull: the download fails twice (503, then a throttling 429).
    proxy.reset_counts();
    proxy.fail_next(1, &data_get, Fault::Status(503, "ServiceUnavailable"));
    proxy.fail_next(1, &data_get, Fault::Status(429, "Throttling"));
    let b = sync(&provider, &cb).await;
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(std::fs::read(cb.join(rel)).unwrap(), b"state");
    assert_eq!(sent(&proxy, &data_get), 3, "{:?}", proxy.seen());

    // A 403 is final: sent once, reported as permission-denied.
    proxy.reset_counts();
    let c = sync(&provider, &dir.path().join("c")).await;
    proxy.fail_next(1, "GET ", Fault::Status(403, "AccessDenied"));
    match c.pull_changed(&SyncOptions::default()).await {
        Err(HostError::Datastore(DatastoreError::PermissionDenied(m))) => {
            assert!(m.contains("403"), "{m}")
        }
        other => panic!("expected permission-denied, got {other:?}"),
    }
    let faulted = proxy.faulted();
    assert_eq!(faulted.len(), 1);
    assert_eq!(
        sent(&proxy, &faulted[0]),
        1,
        "a 403 was retried: {:?}",
        proxy.seen()
    );
    // So is a 403 on a lock: acquire fails at once, no waiting.
    proxy.reset_counts();
    proxy.fail_next(1, "PUT ", Fault::Status(403, "AccessDenied"));
    let lock = provider
        .create_lock("/r", LockOptions::with_key("l.lock").max_wait_ms(10_000))
        .await
        .unwrap();
    let t = Instant::now();
    match lock.acquire().await {
        Err(HostError::Datastore(DatastoreError::PermissionDenied(_))) => {}
        other => panic!("expected permission-denied, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());
}

/// A lock create whose answer is lost (the PUT landed, the connection was
/// reset before the 200 came back) is settled by re-reading the lock and
/// finding our own nonce: the acquire succeeds, nothing is orphaned.
#[tokio::test(flavor = "multi_thread")]
async fn an_ambiguous_lock_create_is_settled_by_the_nonce() {
    let s3 = server(BUCKET);
    let proxy = Proxy::start(format!("127.0.0.1:{}", s3.port())).await;
    let host = host();
    let plugin = plugin(&host).await;
    let mut cfg = config(&s3, BUCKET, "ambiguous");
    cfg["endpoint"] = serde_json::json!(proxy.endpoint());
    let provider = open(&plugin, cfg).await;
    let lock_put = format!("PUT /{BUCKET}/ambiguous/amb.lock");
    proxy.fail_next(1, &lock_put, Fault::ResetAfterForward);
    let lock = provider
        .create_lock("/r", LockOptions::with_key("amb.lock").max_wait_ms(5_000))
        .await
        .unwrap();
    let t = Instant::now();
    lock.acquire().await.unwrap();
    assert_eq!(
        proxy.faulted(),
        vec![lock_put.clone()],
        "{:?}",
        proxy.seen()
    );
    let info = lock.inspect().await.unwrap().expect("held");
    let stored: serde_json::Value = serde_json::from_slice(
        &s3.get_object(BUCKET, "ambiguous/amb.lock")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored["nonce"].as_str(),
        info.nonce.as_deref(),
        "the stored lock is ours"
    );
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "settled by reading back, not by waiting for the TTL: {:?}",
        t.elapsed()
    );
    lock.release().await.unwrap();
    assert!(
        s3.get_object(BUCKET, "ambiguous/amb.lock")
            .unwrap()
            .is_none()
    );
}

/// Push and pull `files` files with 50 requests in flight on a host that
/// allows `per_authority` per authority; the TCP connections it opened.
async fn connections_for(
    s3: &seaweedfs_fixture::SeaweedFs,
    per_authority: usize,
    files: usize,
) -> u64 {
    let host = swamp_host::Host::new(swamp_host::HostOptions {
        cache_dir: None,
        env_source: std::sync::Arc::new(|_| None),
        limits: swamp_host::Limits {
            http_requests_per_authority: per_authority,
            ..swamp_host::Limits::default()
        },
        ..swamp_host::HostOptions::default()
    })
    .unwrap();
    let plugin = plugin(&host).await;
    let mut cfg = config(s3, BUCKET, &format!("bounded-{per_authority}"));
    cfg["pushConcurrency"] = 50.into();
    cfg["pullConcurrency"] = 50.into();
    let provider = open(&plugin, cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let a = sync(&provider, &ca).await;
    for i in 0..files {
        write(
            &ca,
            &format!("data/t/m{}/out/{i}/raw", i % 3),
            format!("file {i}").as_bytes(),
        );
    }
    a.mark_dirty(&SyncOptions::default()).await.unwrap();
    assert_eq!(
        a.push_changed(&SyncOptions::default()).await.unwrap() as usize,
        files
    );
    let b = sync(&provider, &cb).await;
    assert_eq!(
        b.pull_changed(&SyncOptions::default()).await.unwrap() as usize,
        files
    );
    for i in 0..files {
        let got = std::fs::read(cb.join(format!("data/t/m{}/out/{i}/raw", i % 3))).unwrap();
        assert_eq!(got, format!("file {i}").as_bytes());
    }
    host.http_connections_opened()
}

/// However many requests a guest keeps in flight, the host opens no more
/// connections to one authority than its bound: the extra requests wait
/// for a slot, and every file still arrives. With the default bound the
/// same guest opens many more (so the bound is what holds it).
#[tokio::test(flavor = "multi_thread")]
async fn requests_in_flight_per_authority_are_bounded_by_the_host() {
    let s3 = server(BUCKET);
    let bounded = connections_for(&s3, 3, 120).await;
    assert!(
        (1..=3).contains(&bounded),
        "{bounded} connections with a bound of 3"
    );
    let unbounded = connections_for(&s3, 64, 120).await;
    assert!(
        unbounded > 3,
        "with 50 in flight and the default bound: {unbounded} connections"
    );
}
