//! The S3 guest through a network that misbehaves at a set rate: a proxy
//! between guest and SeaweedFS answers 5xx and throttling errors, resets
//! connections before and after the request took effect, stalls, and cuts
//! bodies short. Push and pull must still converge (the guest's own
//! retries, and at worst a re-run of the call, as a user would do); a
//! truncated download is never stored; and against a server that never
//! answers, every call ends with a clear error within its deadline.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use swamp_host::{DatastoreError, HostError, LockOptions, SyncOptions, SyncService};

use super::support::proxy::{Fault, Proxy};
use super::support::*;

const BUCKET: &str = "faults";

/// The seed of a run: `FAULT_SEED` to replay a failing run, else the clock.
fn seed() -> u64 {
    std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// A SeaweedFS bucket, a proxy in front of it, and a config pointing the
/// guest at the proxy with a short per-request timeout (stalls cost one
/// timeout each).
async fn setup(
    prefix: &str,
    request_timeout_ms: u64,
) -> (seaweedfs_fixture::SeaweedFs, Proxy, serde_json::Value) {
    let s3 = server(BUCKET);
    let proxy = Proxy::start(format!("127.0.0.1:{}", s3.port())).await;
    let mut cfg = config(&s3, BUCKET, prefix);
    cfg["endpoint"] = serde_json::json!(proxy.endpoint());
    cfg["requestTimeoutMs"] = serde_json::json!(request_timeout_ms);
    (s3, proxy, cfg)
}

/// Every file under `data/` and `definitions/` of a cache, with content.
fn tree(cache: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_str().unwrap().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    for top in ["data", "definitions"] {
        walk(&cache.join(top), cache, &mut out);
    }
    out
}

/// Content of file `i` in round `round`: 1 to 6 KiB, so a cut body is a
/// real cut.
fn content(i: usize, round: usize) -> Vec<u8> {
    let len = 1024 + (i * 397 + round * 131) % 5120;
    (0..len)
        .map(|j| (j as u8).wrapping_mul(31).wrapping_add((i + round) as u8))
        .collect()
}

fn rel(i: usize) -> String {
    if i.is_multiple_of(5) {
        format!("definitions/model-{i}.yaml")
    } else {
        format!("data/team/model-{}/item-{i}/1/raw", i % 7)
    }
}

/// Run `call` until it succeeds, as a user re-runs a failed sync; every
/// failure on the way must be `unavailable` (the network's fault, named as
/// such), and a few re-runs must be enough. The attempts made.
async fn until_ok<F, Fut>(what: &str, mut call: F) -> (u32, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u32, HostError>>,
{
    for attempt in 1..=6 {
        match call().await {
            Ok(n) => return (n, attempt),
            Err(HostError::Datastore(DatastoreError::Unavailable(m))) => {
                eprintln!("{what}: attempt {attempt} failed (re-run): {m}");
                assert!(m.contains("S3 "), "the error names the request: {m}");
            }
            Err(other) => {
                panic!("{what}: a network fault must surface as unavailable, got {other:?}")
            }
        }
    }
    panic!("{what}: six re-runs did not get through");
}

async fn push(svc: &SyncService) -> (u32, usize) {
    let opts = SyncOptions::default();
    until_ok("push", || svc.push_changed(&opts)).await
}

async fn pull(svc: &SyncService) -> (u32, usize) {
    let opts = SyncOptions::default();
    until_ok("pull", || svc.pull_changed(&opts)).await
}

/// The bucket's index lists exactly `expected`, with the right sizes, and
/// each object holds the expected bytes.
fn assert_bucket(
    s3: &seaweedfs_fixture::SeaweedFs,
    prefix: &str,
    expected: &BTreeMap<String, Vec<u8>>,
) {
    let entries = remote_entries(s3, BUCKET, &format!("{prefix}/"));
    let listed: Vec<&String> = entries.keys().collect();
    let wanted: Vec<&String> = expected.keys().collect();
    assert_eq!(listed, wanted, "the bucket index lists exactly the files");
    for (rel, bytes) in expected {
        assert_eq!(entries[rel]["size"], bytes.len(), "{rel}");
        let stored = s3
            .get_object(BUCKET, &format!("{prefix}/{rel}"))
            .unwrap()
            .unwrap_or_else(|| panic!("{rel} is indexed but missing"));
        assert!(stored == *bytes, "{rel}: the stored object differs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn push_and_pull_converge_through_random_faults_of_every_kind() {
    const FILES: usize = 200;
    const RATE: f64 = 0.15;
    let (s3, proxy, cfg) = setup("rand", 2000).await;
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = (sync(&provider, &ca).await, sync(&provider, &cb).await);
    // Truncations only count on answers with a body (GETs): weigh them up
    // so every kind shows up in a run of this size.
    let mut kinds = Fault::all();
    kinds.extend([Fault::Truncate, Fault::Truncate, Fault::Truncate]);
    proxy.set_rate(RATE, seed(), "", kinds);
    let started = Instant::now();
    let mut reruns = 0;

    // Round 0: A pushes the whole tree, B pulls it.
    for i in 0..FILES {
        write(&ca, &rel(i), &content(i, 0));
    }
    a.mark_dirty(&SyncOptions::default()).await.unwrap();
    let (n, tries) = push(&a).await;
    reruns += tries - 1;
    eprintln!("round 0: push done at {:?}", started.elapsed());
    if tries == 1 {
        assert_eq!(n as usize, FILES);
    }
    let (_, tries) = pull(&b).await;
    reruns += tries - 1;
    eprintln!("round 0: pull done at {:?}", started.elapsed());
    let expected = tree(&ca);
    assert_eq!(expected.len(), FILES);
    assert_eq!(tree(&cb), expected, "round 0: B's tree differs from A's");
    assert_bucket(&s3, "rand", &expected);

    // Rounds 1 and 2: edits (one in three keeps its size), deletions and
    // new files, from A and then from B.
    for round in 1..=2 {
        let (from, to, cf, ct) = if round == 1 {
            (&a, &b, &ca, &cb)
        } else {
            (&b, &a, &cb, &ca)
        };
        for i in (round..FILES).step_by(9) {
            let mut bytes = content(i, round);
            if i.is_multiple_of(3)
                && let Ok(old) = std::fs::read(cf.join(rel(i)))
            {
                // Same size, different content: only the hash can tell.
                bytes = old;
                bytes[0] ^= 0xff;
            }
            write(cf, &rel(i), &bytes);
            from.mark_dirty(&SyncOptions::rel_path(rel(i)))
                .await
                .unwrap();
        }
        for i in (round + 4..FILES).step_by(13) {
            let _ = std::fs::remove_file(cf.join(rel(i)));
            from.mark_dirty(&SyncOptions::rel_path(rel(i)))
                .await
                .unwrap();
        }
        for i in FILES + round * 10..FILES + round * 10 + 10 {
            write(cf, &rel(i), &content(i, round));
            from.mark_dirty(&SyncOptions::rel_path(rel(i)))
                .await
                .unwrap();
        }
        let (_, tries) = push(from).await;
        reruns += tries - 1;
        eprintln!("round {round}: push done at {:?}", started.elapsed());
        let (_, tries) = pull(to).await;
        reruns += tries - 1;
        eprintln!("round {round}: pull done at {:?}", started.elapsed());
        let expected = tree(cf);
        assert_eq!(tree(ct), expected, "round {round}: the trees differ");
        assert_bucket(&s3, "rand", &expected);
    }

    // Nothing left over: with faults still on, both sides agree there is
    // nothing to move.
    assert_eq!(push(&a).await.0, 0);
    assert_eq!(push(&b).await.0, 0);
    assert_eq!(pull(&a).await.0, 0);

    let counts = proxy.counts();
    let requests = proxy.seen().len();
    eprintln!(
        "random faults: {requests} requests, faults {counts:?}, {reruns} re-runs, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for kind in Fault::all().iter().map(Fault::kind) {
        assert!(
            counts.get(&kind).copied().unwrap_or(0) > 0,
            "no {kind} fault was injected: {counts:?}"
        );
    }
}

/// A download whose body ends before its `content-length` is an error that
/// is retried, and in the end reported: never stored as if complete. The
/// copy already in the cache stays as it was; a fresh cache gets no file.
#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_download_is_retried_then_reported_and_never_stored() {
    let (_s3, proxy, cfg) = setup("trunc", 2000).await;
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb, cc) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let (a, b, c) = (
        sync(&provider, &ca).await,
        sync(&provider, &cb).await,
        sync(&provider, &cc).await,
    );
    let rel = "data/aws/bucket/v1/state/1/raw";
    let v1: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    let v2: Vec<u8> = v1.iter().map(|x| x.wrapping_add(1)).collect();
    write(&ca, rel, &v1);
    a.mark_dirty(&SyncOptions::rel_path(rel)).await.unwrap();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 1);
    write(&ca, rel, &v2);
    a.mark_dirty(&SyncOptions::rel_path(rel)).await.unwrap();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);

    let get = format!("GET /{BUCKET}/trunc/{rel}");
    for (svc, cache, before) in [(&b, &cb, Some(&v1)), (&c, &cc, None)] {
        proxy.reset_counts();
        proxy.fail_next(100, &get, Fault::Truncate);
        match svc.pull_changed(&SyncOptions::default()).await {
            Err(HostError::Datastore(DatastoreError::Unavailable(m))) => {
                eprintln!("truncated download: {m}");
                assert!(m.contains(rel), "the error names the object: {m}");
                assert!(
                    m.contains("broke off"),
                    "the error says the body was cut: {m}"
                );
            }
            other => panic!("a truncated body must fail the pull as unavailable, got {other:?}"),
        }
        let tries = proxy.seen().iter().filter(|s| **s == get).count();
        assert_eq!(tries, 3, "the cut download is retried: {:?}", proxy.seen());
        assert_eq!(proxy.counts().get("truncate"), Some(&3));
        let path = cache.join(rel);
        match before {
            Some(old) => assert!(
                std::fs::read(&path).unwrap() == *old,
                "the old copy was touched"
            ),
            None => assert!(!path.exists(), "a cut download was stored"),
        }
        // No partial temp file left beside it either.
        let siblings: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(siblings.len() <= 1, "leftovers: {siblings:?}");
        // With the network healthy again, the next pull brings v2 whole.
        proxy.clear();
        assert_eq!(svc.pull_changed(&SyncOptions::default()).await.unwrap(), 1);
        assert!(std::fs::read(&path).unwrap() == v2);
    }
}

/// The margin allowed beyond a deadline for the guest to wind down and
/// answer: a correctness bound on a loaded 2-core machine, not a speed
/// target.
const MARGIN: Duration = Duration::from_secs(10);

fn assert_timeout_error(what: &str, r: Result<impl std::fmt::Debug, HostError>) -> String {
    let m = match r {
        Err(HostError::Datastore(DatastoreError::Unavailable(m) | DatastoreError::Aborted(m))) => m,
        other => {
            panic!("{what} against a silent server must fail as unavailable/aborted, got {other:?}")
        }
    };
    eprintln!("{what}: {m}");
    assert!(
        m.contains("timed out") || m.contains("did not finish") || m.contains("deadline"),
        "{what}: the error must name the timeout: {m}"
    );
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn against_a_server_that_never_answers_every_call_ends_in_time_with_a_clear_error() {
    const REQUEST_TIMEOUT_MS: u64 = 1000;
    let (s3, proxy, cfg) = setup("stall", REQUEST_TIMEOUT_MS).await;
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cb) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = (sync(&provider, &ca).await, sync(&provider, &cb).await);
    // A datastore whose requests may take longer than the call's budget.
    let mut slow_cfg = cfg;
    slow_cfg["requestTimeoutMs"] = serde_json::json!(10 * REQUEST_TIMEOUT_MS);
    let slow = open(&plugin, slow_cfg).await;
    let cs = dir.path().join("s");
    let slow_svc = sync(&slow, &cs).await;
    write(&cs, "data/aws/vpc/v2/state/1/raw", b"slow");
    slow_svc.mark_dirty(&SyncOptions::default()).await.unwrap();
    let rel = "data/aws/vpc/v1/state/1/raw";
    write(&ca, rel, b"state");
    a.mark_dirty(&SyncOptions::rel_path(rel)).await.unwrap();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    write(&ca, rel, b"state 2");
    a.mark_dirty(&SyncOptions::rel_path(rel)).await.unwrap();

    proxy.set_rate(1.0, seed(), "", vec![Fault::Stall]);
    // With the call's own deadline: the push ends by it.
    let budget = Duration::from_millis(3000);
    let opts = SyncOptions {
        timeout_ms: Some(budget.as_millis() as u64),
        ..SyncOptions::default()
    };
    let t = Instant::now();
    let m = assert_timeout_error("push with timeout-ms", a.push_changed(&opts).await);
    let push_with_deadline = t.elapsed();
    assert!(
        push_with_deadline < budget + MARGIN,
        "push took {push_with_deadline:?}: {m}"
    );

    // Without one: each request's own timeout and the three attempts
    // bound the pull (1 s + 0.5 s + 1 s + 1.5 s + 1 s, jittered).
    let bound = Duration::from_millis(3 * REQUEST_TIMEOUT_MS * 2 + 2500);
    let t = Instant::now();
    let m = assert_timeout_error("pull", b.pull_changed(&SyncOptions::default()).await);
    let pull_plain = t.elapsed();
    assert!(pull_plain < bound + MARGIN, "pull took {pull_plain:?}: {m}");

    // A request timeout (10 s) beyond the call's budget (2 s): the call's
    // deadline cuts the request in flight and says so.
    let short = SyncOptions {
        timeout_ms: Some(2000),
        ..SyncOptions::default()
    };
    let t = Instant::now();
    let m = match slow_svc.push_changed(&short).await {
        Err(HostError::Datastore(DatastoreError::Aborted(m))) => m,
        other => panic!("a push past its timeout-ms must be aborted, got {other:?}"),
    };
    let push_cut = t.elapsed();
    eprintln!("push cut by timeout-ms 2000 after {push_cut:?}: {m}");
    assert!(m.contains("deadline"), "the error names the deadline: {m}");
    assert!(
        push_cut < Duration::from_secs(2) + MARGIN,
        "took {push_cut:?}"
    );

    // A lock acquire: ends within its max-wait (plus the requests under
    // way) with a clear error, not a wait for the host to stop it.
    let lock = provider
        .create_lock("/r", LockOptions::with_key("stall.lock").max_wait_ms(3000))
        .await
        .unwrap();
    let t = Instant::now();
    let r = lock.acquire().await;
    let acquire = t.elapsed();
    let m = match r {
        Err(HostError::Datastore(DatastoreError::LockTimeout { waited_ms, .. })) => {
            format!("lock-timeout after {waited_ms} ms")
        }
        other => assert_timeout_error("acquire", other),
    };
    assert!(
        acquire < Duration::from_millis(3000) + bound + MARGIN,
        "acquire took {acquire:?}: {m}"
    );
    // Requests slower than the wait (10 s against 3 s): the acquire still
    // ends by its max-wait with a guest error, not a host deadline trap.
    let slow_lock = slow
        .create_lock("/r", LockOptions::with_key("stall.lock").max_wait_ms(3000))
        .await
        .unwrap();
    let t = Instant::now();
    let r = slow_lock.acquire().await;
    let slow_acquire = t.elapsed();
    let m = assert_timeout_error("acquire with slow requests", r);
    assert!(
        slow_acquire < Duration::from_millis(3000 + 2000) + MARGIN,
        "acquire with 10 s requests and max-wait 3 s took {slow_acquire:?}: {m}"
    );
    eprintln!(
        "stalled server: push (timeout-ms {budget:?}) {push_with_deadline:?}, push (timeout-ms 2 s, request timeout 10 s) {push_cut:?}, pull {pull_plain:?}, acquire (max-wait 3 s) {acquire:?} ({m}); stalls {:?}",
        proxy.counts().get("stall")
    );
    assert!(proxy.counts().get("stall").copied().unwrap_or(0) >= 3);

    // The server answers again: the same handles work, nothing was lost.
    proxy.clear();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 1);
    assert_eq!(std::fs::read(cb.join(rel)).unwrap(), b"state 2");
    assert_eq!(
        s3.get_object(BUCKET, &format!("stall/{rel}"))
            .unwrap()
            .unwrap(),
        b"state 2"
    );
    assert_eq!(
        slow_svc
            .push_changed(&SyncOptions::default())
            .await
            .unwrap(),
        1
    );
    lock.acquire().await.unwrap();
    lock.release().await.unwrap();
    slow_lock.acquire().await.unwrap();
    slow_lock.release().await.unwrap();
}
