//! The real `fs-datastore` component in the real host, on real directories:
//! every WIT function once, and the host-side lock machinery (heartbeats,
//! `with_lock`, the compiled-component cache).

use crate::common::{fs_plugin, host};
use scenarios::s;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use swamp_host::{
    DatastoreError, Host, HostError, HostOptions, LockOptions, OpenOptions, SyncOptions,
    WithLockError,
};

/// fs-datastore on a fresh temporary directory (plain mode).
async fn plain_datastore(host: &Host) -> (tempfile::TempDir, swamp_host::Provider) {
    let plugin = fs_plugin(host).await;
    let dir = tempfile::tempdir().unwrap();
    let provider = plugin
        .open(json!({"path": dir.path()}), OpenOptions::default())
        .await
        .unwrap();
    (dir, provider)
}

fn fast(key: &str) -> LockOptions {
    LockOptions::with_key(key)
        .ttl_ms(900)
        .retry_interval_ms(30)
        .max_wait_ms(400)
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_and_schema() {
    let host = host();
    let plugin = fs_plugin(&host).await;
    let info = plugin.info();
    assert!(info.datastore_type.starts_with('@') && info.datastore_type.contains('/'));
    assert!(!info.name.is_empty() && !info.description.is_empty());
    let schema = plugin.schema();
    assert_eq!(schema["properties"]["path"]["x-swamp-mount"], json!(true));
    assert!(plugin.validate_config(&json!({"path": "/abs"})).is_empty());
    assert!(!plugin.validate_config(&json!({"path": 1})).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_configs_are_refused_by_host_and_guest_with_paths() {
    let host = host();
    let plugin = fs_plugin(&host).await;
    match plugin
        .open(json!({"cache": "yes", "bogus": 1}), OpenOptions::default())
        .await
    {
        Err(HostError::InvalidConfig { problems, .. }) => {
            let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
            assert!(paths.contains(&"/cache"), "{problems:?}");
        }
        other => panic!(
            "expected the host's schema check to refuse, got {:?}",
            other.err()
        ),
    }
    // The guest validates again (defence in depth) and lists every problem.
    match plugin
        .open_unchecked(
            json!({"path": "relative", "cache": "yes", "bogus": 1}),
            OpenOptions::default(),
        )
        .await
    {
        Err(HostError::Datastore(DatastoreError::InvalidConfig(problems))) => {
            let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
            for want in ["/path", "/cache", "/bogus"] {
                assert!(paths.contains(&want), "{want} missing from {problems:?}");
            }
        }
        other => panic!("expected the guest to refuse, got {:?}", other.err()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_lock_and_verifier_functions() {
    let host = host();
    let plugin = fs_plugin(&host).await;
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    std::fs::create_dir(&ds).unwrap();
    let provider = plugin
        .open(json!({"path": ds}), OpenOptions::default())
        .await
        .unwrap();

    let features = provider.features().await.unwrap();
    assert!(!features.sync, "no cache, no sync");
    assert_eq!(
        provider.resolve_datastore_path("/repo").await.unwrap(),
        s(&ds)
    );
    assert_eq!(provider.resolve_cache_path("/repo").await.unwrap(), None);
    assert!(
        provider
            .create_sync_service(s(&dir.path().join("repo")), s(&dir.path().join("cache")))
            .await
            .unwrap()
            .is_none()
    );

    // Verifier.
    let health = provider
        .create_verifier()
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(health.healthy, "{health:?}");
    assert!(health.latency_ms >= 0.0);
    assert_eq!(health.datastore_type, plugin.info().datastore_type);

    // Lock: key, ttl, acquire, inspect, heartbeat, release, force-release.
    let lock = provider
        .create_lock(s(&ds), fast("locks/a.lock"))
        .await
        .unwrap();
    assert_eq!(lock.key(), "locks/a.lock");
    assert_eq!(lock.ttl(), Duration::from_millis(900));
    assert_eq!(lock.inspect().await.unwrap(), None);
    lock.acquire().await.unwrap();
    let info = lock.inspect().await.unwrap().expect("held");
    assert_eq!(info.ttl_ms, 900);
    assert_eq!(info.pid, std::process::id());
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ds.join("locks/a.lock")).unwrap()).unwrap();
    assert_eq!(on_disk["nonce"].as_str(), info.nonce.as_deref());
    lock.heartbeat().await.unwrap();
    lock.release().await.unwrap();
    lock.release().await.unwrap();
    assert!(!ds.join("locks/a.lock").exists());
    lock.acquire().await.unwrap();
    let nonce = lock.inspect().await.unwrap().unwrap().nonce.unwrap();
    assert!(!lock.force_release("wrong").await.unwrap());
    assert!(lock.force_release(&nonce).await.unwrap());
    assert_eq!(lock.inspect().await.unwrap(), None);
    match lock.heartbeat().await {
        Err(HostError::Datastore(DatastoreError::LockLost(_))) => {}
        other => panic!("a force-released lock must fail its heartbeat, got {other:?}"),
    }

    // Namespaces.
    provider
        .register_namespace(s(&ds), "team-a", "repo-1")
        .await
        .unwrap();
    provider
        .register_namespace(s(&ds), "team-a", "repo-1")
        .await
        .unwrap();
    match provider
        .register_namespace(s(&ds), "team-a", "repo-2")
        .await
    {
        Err(HostError::Datastore(DatastoreError::Conflict(_))) => {}
        other => panic!("a namespace claimed by another repo must conflict, got {other:?}"),
    }
    assert_eq!(
        provider.list_namespaces(s(&ds)).await.unwrap(),
        vec!["team-a".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_functions_in_cache_mode() {
    let host = host();
    let plugin = fs_plugin(&host).await;
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let provider = plugin
        .open(
            json!({"path": share, "cache": true}),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    assert!(provider.features().await.unwrap().sync);
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let (cache_a, cache_b) = (dir.path().join("cache-a"), dir.path().join("cache-b"));
    let a = provider
        .create_sync_service(s(&repo), s(&cache_a))
        .await
        .unwrap()
        .unwrap();
    let b = provider
        .create_sync_service(s(&repo), s(&cache_b))
        .await
        .unwrap()
        .unwrap();
    let caps = a.capabilities().await.unwrap();

    let rel = "data/aws/vpc/v1/state/1/raw";
    a.mark_dirty(&SyncOptions::rel_path(rel)).await.unwrap();
    std::fs::create_dir_all(cache_a.join(rel).parent().unwrap()).unwrap();
    std::fs::write(cache_a.join(rel), b"content").unwrap();
    a.mark_dirty(&SyncOptions::rel_path("data/aws/vpc/v1/state/latest"))
        .await
        .unwrap();
    std::fs::write(cache_a.join("data/aws/vpc/v1/state/latest"), b"1").unwrap();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 2);
    assert_eq!(
        a.push_changed(&SyncOptions::default()).await.unwrap(),
        0,
        "zero-diff push"
    );
    let flushed = b.usage().files_flushed;
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 2);
    assert_eq!(std::fs::read(cache_b.join(rel)).unwrap(), b"content");
    assert_eq!(
        b.usage().files_flushed,
        flushed + 2,
        "both downloads were flushed by the host, together"
    );
    assert_eq!(
        b.pull_changed(&SyncOptions::default()).await.unwrap(),
        0,
        "zero-diff pull"
    );

    match a.mark_dirty(&SyncOptions::rel_path("../escape")).await {
        Err(HostError::Datastore(DatastoreError::InvalidArgument(_))) => {}
        other => panic!("a `..` rel-path must be refused, got {other:?}"),
    }

    if caps.lazy_hydration {
        std::fs::remove_file(cache_b.join(rel)).unwrap();
        assert!(b.hydrate_file(rel, &SyncOptions::default()).await.unwrap());
        assert_eq!(std::fs::read(cache_b.join(rel)).unwrap(), b"content");
        assert!(
            !b.hydrate_file("data/none/x/y/1/raw", &SyncOptions::default())
                .await
                .unwrap()
        );
    } else {
        assert!(matches!(
            b.hydrate_file(rel, &SyncOptions::default()).await,
            Err(HostError::Datastore(DatastoreError::Unsupported(_)))
        ));
    }
    // The optional calls either work or say they are unsupported, as the
    // capabilities advertise.
    let preview = a.preview_push(&SyncOptions::default()).await;
    assert_eq!(caps.preview_push, preview.is_ok(), "{preview:?}");
    let manifest = a.prepare_push(&SyncOptions::default()).await;
    assert_eq!(caps.two_phase_sync, manifest.is_ok(), "{manifest:?}");
    if let Ok(m) = manifest {
        assert_eq!(a.commit_push(&m, &SyncOptions::default()).await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_keep_a_lock_alive_while_another_instance_is_busy() {
    let (dir, provider) = plain_datastore(&host()).await;
    let opts = LockOptions::with_key("hb.lock")
        .ttl_ms(1_200)
        .retry_interval_ms(20)
        .max_wait_ms(3_000);
    let holder = provider
        .create_lock(s(dir.path()), opts.clone())
        .await
        .unwrap();
    holder.acquire().await.unwrap();
    // Keep the provider's own instance busy meanwhile: the lock lives in an
    // instance of its own, so its heartbeats never wait behind this.
    let busy = tokio::spawn({
        let provider = provider.clone();
        async move {
            for _ in 0..20 {
                provider
                    .create_verifier()
                    .await
                    .unwrap()
                    .verify()
                    .await
                    .unwrap();
            }
        }
    });
    let contender = provider.create_lock(s(dir.path()), opts).await.unwrap();
    match contender.acquire().await {
        Err(HostError::Datastore(DatastoreError::LockTimeout {
            holder: Some(h),
            waited_ms,
            ..
        })) => {
            assert!(waited_ms >= 3_000);
            assert_eq!(h.nonce, holder.inspect().await.unwrap().unwrap().nonce);
        }
        other => panic!("a heartbeating lock must not be taken over, got {other:?}"),
    }
    busy.await.unwrap();
    assert!(
        holder.heartbeats() >= 3,
        "only {} heartbeats",
        holder.heartbeats()
    );
    assert_eq!(holder.lost(), None);
    holder.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_holder_is_taken_over_and_told_so() {
    let (dir, provider) = plain_datastore(&host()).await;
    let opts = LockOptions::with_key("frozen.lock")
        .ttl_ms(300)
        .retry_interval_ms(20)
        .max_wait_ms(3_000);
    let old = provider
        .create_lock(s(dir.path()), opts.clone())
        .await
        .unwrap();
    old.acquire().await.unwrap();
    old.pause_heartbeats(true);
    let new = provider.create_lock(s(dir.path()), opts).await.unwrap();
    new.acquire().await.unwrap();
    let successor = new.inspect().await.unwrap().unwrap();
    old.pause_heartbeats(false);
    assert!(matches!(
        old.heartbeat().await,
        Err(HostError::Datastore(DatastoreError::LockLost(_)))
    ));
    assert!(old.lost().is_some(), "the host must report the lost lock");
    old.release().await.unwrap();
    assert_eq!(
        new.inspect().await.unwrap().unwrap().nonce,
        successor.nonce,
        "the old holder's release must not delete the successor's lock"
    );
    new.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_lock_releases_on_error_and_on_panic() {
    let (dir, provider) = plain_datastore(&host()).await;
    let lock = provider
        .create_lock(s(dir.path()), fast("with.lock"))
        .await
        .unwrap();

    let value: Result<i32, WithLockError<String>> = lock.with_lock(|| async { Ok(42) }).await;
    assert_eq!(value.unwrap(), 42);
    assert_eq!(lock.inspect().await.unwrap(), None);

    let failed: Result<(), WithLockError<String>> =
        lock.with_lock(|| async { Err("boom".to_string()) }).await;
    assert!(matches!(failed, Err(WithLockError::Body(e)) if e == "boom"));
    assert_eq!(
        lock.inspect().await.unwrap(),
        None,
        "released after an error"
    );

    let ran = Arc::new(AtomicBool::new(false));
    let lock2 = lock.clone();
    let flag = ran.clone();
    let panicked = tokio::spawn(async move {
        let _: Result<(), WithLockError<String>> = lock2
            .with_lock(|| async move {
                flag.store(true, Ordering::SeqCst);
                panic!("body panics");
            })
            .await;
    })
    .await;
    assert!(panicked.is_err() && ran.load(Ordering::SeqCst));
    assert_eq!(
        lock.inspect().await.unwrap(),
        None,
        "released after a panic"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_components_are_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(HostOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostOptions::default()
    })
    .unwrap();
    let wasm = std::path::PathBuf::from(test_guests_artifacts::FS_DATASTORE);
    host.load(&wasm).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one compiled artifact");
    // A second load (a new host, as in a new process) reuses it.
    let again = Host::new(HostOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = again.load(&wasm).await.unwrap();
    assert_eq!(
        plugin.info().datastore_type,
        host.load(&wasm).await.unwrap().info().datastore_type
    );
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
    // A corrupt cache file is ignored (and the component still loads).
    let file = std::fs::read_dir(cache.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, b"garbage").unwrap();
    Host::new(HostOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostOptions::default()
    })
    .unwrap()
    .load(&wasm)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_lock_files_and_indexes_are_reported_and_left_alone() {
    let host = host();
    let plugin = fs_plugin(&host).await;
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let provider = plugin
        .open(
            json!({"path": share, "cache": true}),
            OpenOptions::default(),
        )
        .await
        .unwrap();

    // A lock file that is not LockInfo JSON.
    std::fs::write(share.join(".datastore.lock"), b"{not json").unwrap();
    let lock = provider
        .create_lock(
            s(&share),
            LockOptions::default()
                .max_wait_ms(200)
                .retry_interval_ms(20),
        )
        .await
        .unwrap();
    match lock.inspect().await {
        Err(HostError::Datastore(DatastoreError::CorruptData(m))) => {
            assert!(m.contains(".datastore.lock"), "{m}")
        }
        other => panic!("a corrupt lock file must be reported, got {other:?}"),
    }
    assert!(
        lock.acquire().await.is_err(),
        "a fresh corrupt lock is not taken over"
    );
    assert_eq!(
        std::fs::read(share.join(".datastore.lock")).unwrap(),
        b"{not json",
        "left as it was"
    );

    // A corrupt remote index.
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(share.join(".datastore-index.json"), b"\x00\x01 garbage").unwrap();
    let sync = provider
        .create_sync_service(s(&repo), s(&dir.path().join("cache")))
        .await
        .unwrap()
        .unwrap();
    match sync.pull_changed(&SyncOptions::default()).await {
        Err(HostError::Datastore(DatastoreError::CorruptData(m))) => {
            assert!(m.contains(".datastore-index.json"), "{m}")
        }
        other => panic!("a corrupt index must be reported, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(share.join(".datastore-index.json")).unwrap(),
        b"\x00\x01 garbage"
    );

    // A corrupt local sidecar only caches state: the next push does a full walk.
    let cache = dir.path().join("cache2");
    std::fs::remove_file(share.join(".datastore-index.json")).unwrap();
    let sync = provider
        .create_sync_service(s(&repo), s(&cache))
        .await
        .unwrap()
        .unwrap();
    std::fs::create_dir_all(cache.join("data/t/m/d/1")).unwrap();
    std::fs::write(cache.join("data/t/m/d/1/raw"), b"x").unwrap();
    std::fs::write(cache.join(".datastore-sync-state.json"), b"[corrupt").unwrap();
    assert_eq!(sync.push_changed(&SyncOptions::default()).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skewed_guest_clock_is_what_the_guest_sees() {
    // The skew knob exists so S3 tests can prove staleness is judged by the
    // server's clock; here we check the knob itself: a guest an hour ahead
    // writes acquiredAt an hour ahead.
    let host = Host::new(HostOptions {
        cache_dir: None,
        limits: swamp_host::Limits {
            wall_clock_skew_ms: 3_600_000,
            ..swamp_host::Limits::default()
        },
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = fs_plugin(&host).await;
    let dir = tempfile::tempdir().unwrap();
    let provider = plugin
        .open(json!({"path": dir.path()}), OpenOptions::default())
        .await
        .unwrap();
    let lock = provider
        .create_lock(s(dir.path()), fast("skew.lock"))
        .await
        .unwrap();
    lock.acquire().await.unwrap();
    let acquired = lock.inspect().await.unwrap().unwrap().acquired_at;
    lock.release().await.unwrap();
    let year_hour = |iso: &str| iso[..13].to_string();
    let now = time_now_plus(3_600);
    assert_eq!(
        year_hour(&acquired),
        year_hour(&now),
        "acquiredAt {acquired} vs expected ~{now}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn file_io_on_the_callers_thread_behaves_the_same() {
    let host = Host::new(HostOptions {
        cache_dir: None,
        limits: swamp_host::Limits {
            file_io_on_caller_thread: true,
            ..swamp_host::Limits::default()
        },
        ..HostOptions::default()
    })
    .unwrap();
    let (dir, provider) = plain_datastore(&host).await;
    let a = provider
        .create_lock(s(dir.path()), fast("k"))
        .await
        .unwrap();
    let b = provider
        .create_lock(s(dir.path()), fast("k"))
        .await
        .unwrap();
    a.acquire().await.unwrap();
    assert!(
        a.inspect().await.unwrap().is_some(),
        "the lock file was written"
    );
    assert!(
        matches!(
            b.acquire().await,
            Err(HostError::Datastore(DatastoreError::LockTimeout { .. }))
        ),
        "a second holder is still refused"
    );
    a.release().await.unwrap();
    assert!(
        b.inspect().await.unwrap().is_none(),
        "release removed the file"
    );
    assert!(
        provider
            .create_verifier()
            .await
            .unwrap()
            .verify()
            .await
            .unwrap()
            .healthy
    );
    // The host's meters: a guest has linear memory, fs-datastore sends no HTTP.
    let usage = a.usage();
    assert!(usage.memory_bytes > 0, "{usage:?}");
    assert_eq!(usage.http_requests, 0);
}

// ---- `swamp model method run` and a workflow step, as swamp drives them
// (the scenario and why: test-support/scenarios/src/lib.rs) ----

#[tokio::test(flavor = "multi_thread")]
async fn cache_mode_a_model_method_run_pushes_every_marked_file_whatever_the_context() {
    let host = host();
    let plugin = fs_plugin(&host).await;
    let dir = tempfile::tempdir().unwrap();
    let share = dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let provider = plugin
        .open(
            json!({"path": share, "cache": true}),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let datastore = provider.resolve_datastore_path(s(&repo)).await.unwrap();
    assert_eq!(datastore, s(&share));
    let work = dir.path().join("caches");
    std::fs::create_dir(&work).unwrap();
    scenarios::model_method_run(&provider, &repo, &work, &Share(&share)).await;
}

/// The share directory, read directly.
struct Share<'a>(&'a Path);

impl scenarios::Store for Share<'_> {
    fn holds_lock(&self, key: &str) -> bool {
        self.0.join(key).is_file()
    }
    fn holds_files(&self, files: &BTreeMap<String, Vec<u8>>) {
        for (rel, bytes) in files {
            assert!(
                std::fs::read(self.0.join(rel)).ok().as_ref() == Some(bytes),
                "{rel} is not in the share as written"
            );
        }
    }
}

/// ISO-8601 UTC of now + `secs`, computed without the guest.
fn time_now_plus(secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// With file calls on the guest's own thread (the default), a file call
/// that never returns (here: opening a FIFO nobody writes to, as a dead
/// network share would hang) still ends the call at its deadline, the
/// instance is stopped, and the host goes on serving others.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_call_that_hangs_still_ends_at_the_call_deadline() {
    let host = Host::new(HostOptions {
        cache_dir: None,
        limits: swamp_host::Limits {
            call_timeout: Duration::from_millis(1000),
            grace: Duration::from_millis(500),
            ..swamp_host::Limits::default()
        },
        ..HostOptions::default()
    })
    .unwrap();
    assert!(host.options().limits.file_io_on_caller_thread);
    let (dir, provider) = plain_datastore(&host).await;
    let fifo = dir.path().join("k");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let lock = provider
        .create_lock(s(dir.path()), fast("k"))
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let got = lock.inspect().await;
    let took = start.elapsed();
    // Let the stuck open go (a writer arrives and leaves at once).
    let unstick =
        std::thread::spawn(move || drop(std::fs::OpenOptions::new().write(true).open(fifo)));
    assert!(
        matches!(got, Err(HostError::Deadline { .. })),
        "a hung file call ends with the deadline, got {got:?}"
    );
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(4000),
        "ended at its deadline (1.5 s), took {took:?}"
    );
    assert!(
        matches!(lock.inspect().await, Err(HostError::InstanceStopped(_))),
        "the instance is not used again"
    );
    let (other_dir, other) = plain_datastore(&host).await;
    assert!(
        other
            .create_verifier()
            .await
            .unwrap()
            .verify()
            .await
            .unwrap()
            .healthy
    );
    drop(other_dir);
    unstick.join().unwrap();
}

/// A verifier lives in its provider's instance, which outlives it: the
/// guest object must go when the host's handle does, or a long-lived
/// provider (swamp's `serve`, which verifies on every health check) would
/// grow by one guest verifier per check until its memory limit. Without the
/// drop, each verifier stays in the guest's resource table and its boxed
/// object on the guest's heap, and a wasm memory never shrinks: 10,000 of
/// them grow the memory by about a megabyte (measured when the drop was
/// taken out of `swamp-host/src/guest_resource.rs`), far past the
/// 64 KiB (one wasm page) this test allows.
#[tokio::test(flavor = "multi_thread")]
async fn verifiers_made_and_dropped_leave_the_providers_memory_flat() {
    let host = host();
    let (_dir, provider) = plain_datastore(&host).await;
    let make = |n: usize| {
        let provider = provider.clone();
        async move {
            for i in 0..n {
                let v = provider.create_verifier().await.unwrap();
                // A clone keeps it alive; the guest object goes with the
                // last. (Verified once: a verify writes and fsyncs a file.)
                let again = v.clone();
                drop(v);
                if i == 0 {
                    assert!(again.verify().await.unwrap().healthy);
                }
            }
        }
    };
    make(100).await;
    let before = provider.usage().memory_bytes;
    make(10_000).await;
    let after = provider.usage().memory_bytes;
    eprintln!("provider memory after 100 verifiers: {before} bytes, after 10,100: {after} bytes");
    assert!(
        after <= before + 64 * 1024,
        "10,000 verifiers made and dropped grew the provider's memory from {before} to {after} bytes"
    );
}

/// Blocking-pool threads started while `calls` run on a fresh
/// current-thread runtime (its idle pool threads expire after 1 ms, so any
/// file call handed to the pool starts one).
fn pool_threads_started_by(file_io_on_caller_thread: bool) -> usize {
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = started.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(Duration::from_millis(1))
        .on_thread_start(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let host = Host::new(HostOptions {
            cache_dir: None,
            limits: swamp_host::Limits {
                file_io_on_caller_thread,
                ..swamp_host::Limits::default()
            },
            ..HostOptions::default()
        })
        .unwrap();
        let (dir, provider) = plain_datastore(&host).await;
        let lock = provider
            .create_lock(s(dir.path()), fast("k"))
            .await
            .unwrap();
        let verifier = provider.create_verifier().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let before = started.load(Ordering::SeqCst);
        for _ in 0..3 {
            lock.acquire().await.unwrap();
            assert!(lock.inspect().await.unwrap().is_some());
            lock.release().await.unwrap();
            assert!(verifier.verify().await.unwrap().healthy);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        started.load(Ordering::SeqCst) - before
    })
}

/// `Limits::file_io_on_caller_thread` reaches every file call, directory
/// operations on the mounts included (open, stat, create, rename, unlink):
/// none hops to tokio's blocking pool, whose two thread wake-ups per call
/// dominated lock calls and a pull's per-file work. Handed to the pool
/// instead, the same calls start pool threads (so this check can fail).
#[test]
fn file_calls_on_the_callers_thread_never_use_the_blocking_pool() {
    assert_eq!(
        pool_threads_started_by(true),
        0,
        "a file call was handed to the blocking pool"
    );
    assert!(
        pool_threads_started_by(false) > 0,
        "the pool variant starts pool threads"
    );
}
