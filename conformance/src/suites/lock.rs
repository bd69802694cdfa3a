//! Locks: swamp's kit in order (docs/contract.md §9.2, one check per step),
//! then the behaviour a distributed lock must have between separate handles
//! (each `create-lock` is a guest instance of its own, as two processes
//! would be).

use crate::framework::{Check, Ctx, OrFail, Outcome, Status, Suite, check, ensure, fail};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use swamp_host::{DatastoreError, HostError, Lock, LockInfo, LockOptions, WithLockError};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "lock.inspect-null-before-acquire",
            Suite::Lock,
            "inspect returns none before acquire",
            inspect_null_before
        ),
        check!(
            "lock.inspect-after-acquire",
            Suite::Lock,
            "after acquire, inspect returns holder, hostname, pid, ISO-8601 acquired-at, ttl-ms and a nonce",
            inspect_after_acquire
        ),
        check!(
            "lock.release-then-null",
            Suite::Lock,
            "inspect returns none after release; a second release succeeds",
            release_then_null
        ),
        check!(
            "lock.with-lock-returns-value",
            Suite::Lock,
            "with_lock holds the lock while the body runs, returns its value and frees the lock",
            with_lock_value
        ),
        check!(
            "lock.with-lock-releases-on-error",
            Suite::Lock,
            "with_lock releases the lock when the body fails",
            with_lock_error
        ),
        check!(
            "lock.force-release-right-nonce",
            Suite::Lock,
            "force-release with the holder's nonce returns true and frees the lock",
            force_release_right
        ),
        check!(
            "lock.force-release-wrong-nonce",
            Suite::Lock,
            "force-release with a wrong nonce (or no lock) returns false and leaves the lock held",
            force_release_wrong
        ),
        check!(
            "lock.fresh-nonce-per-acquire",
            Suite::Lock,
            "a handle is reusable and every acquire writes a fresh nonce",
            fresh_nonce
        ),
        check!(
            "lock.double-acquire-refused",
            Suite::Lock,
            "acquiring a lock the same handle already holds fails with conflict",
            double_acquire
        ),
        check!(
            "lock.mutual-exclusion",
            Suite::Lock,
            "four contenders on separate handles, arriving staggered and then all at once with each guest paused at every host call (so a look-then-create acquire races every time), are never inside the lock together",
            mutual_exclusion
        ),
        check!(
            "lock.timeout-names-holder",
            Suite::Lock,
            "acquire gives up after max-wait with lock-timeout naming the holder and the time waited",
            timeout_names_holder
        ),
        check!(
            "lock.expired-taken-over",
            Suite::Lock,
            "a lock whose TTL expired (holder stopped heartbeating) is taken over, not before",
            expired_taken_over
        ),
        check!(
            "lock.heartbeat-keeps-alive",
            Suite::Lock,
            "a holder that heartbeats is never taken over, however long a contender waits",
            heartbeat_keeps_alive
        ),
        check!(
            "lock.lost-heartbeat-fenced",
            Suite::Lock,
            "a holder whose lock was taken over gets lock-lost on heartbeat and does not overwrite the successor",
            lost_heartbeat_fenced
        ),
        check!(
            "lock.lost-release-keeps-successor",
            Suite::Lock,
            "release (and force-release) by a holder that lost its lock leaves the successor's lock in place",
            lost_release_keeps_successor
        ),
        check!(
            "lock.release-by-non-holder",
            Suite::Lock,
            "release on a handle that never acquired succeeds and does not free another holder's lock",
            release_by_non_holder
        ),
        check!(
            "lock.keys-independent",
            Suite::Lock,
            "locks on two different keys do not block each other nor the default key",
            keys_independent
        ),
        check!(
            "lock.where-swamp-puts-it",
            Suite::Lock,
            "the lock of key K is where swamp's own datastore of the kind keeps it, holding the holder's LockInfo JSON, and gone after release: the file {datastore-path}/K on a local directory, the object {prefix}/K on a bucket (when the suite is given raw access to it), so mixed clients exclude each other",
            where_swamp_puts_it
        ),
        check!(
            "lock.corrupt-file-held",
            Suite::Lock,
            "a lock file nobody can read (half-written, empty, not JSON, wrong types: the hostile corpus's cases) is never taken for no lock: inspect reports corrupt-data, an acquire with a short max-wait times out, and the file is left as it was",
            corrupt_file_held
        ),
        check!(
            "lock.keys-not-flattened",
            Suite::Lock,
            "keys that differ only in where `/` falls (data/aws/vpc_m1/.lock, data/aws_vpc/m1/.lock, data/aws--vpc/m1/.lock) are different locks",
            keys_not_flattened
        ),
        check!(
            "lock.stale-by-holders-ttl",
            Suite::Lock,
            "staleness is judged by the TTL the holder stored, not the contender's own: a shorter-TTL contender never takes a live lock, a longer-TTL one takes an expired lock",
            stale_by_holders_ttl
        ),
        check!(
            "lock.max-wait-zero",
            Suite::Lock,
            "an acquire makes at least one attempt: with max-wait 0 it takes a free lock, and on a held lock ends at once with lock-timeout",
            max_wait_zero
        ),
        check!(
            "lock.force-release-wrong-nonce-expired",
            Suite::Lock,
            "force-release with a wrong nonce leaves even an expired lock in place; the right nonce still releases it",
            force_release_wrong_nonce_expired
        ),
        check!(
            "lock.heartbeat-after-force-release",
            Suite::Lock,
            "after a force-release, the old holder's heartbeat fails with lock-lost and does not put the lock back",
            heartbeat_after_force_release
        ),
    ]
}

/// Options with a long TTL (no expiry during the check) and quick retries.
fn steady() -> LockOptions {
    LockOptions::default()
        .ttl_ms(5_000)
        .retry_interval_ms(50)
        .max_wait_ms(2_000)
}

/// Options with a short TTL, for expiry and heartbeat checks.
fn short(ttl_ms: u64, max_wait_ms: u64) -> LockOptions {
    LockOptions::default()
        .ttl_ms(ttl_ms)
        .retry_interval_ms(50)
        .max_wait_ms(max_wait_ms)
}

async fn held(lock: &Lock, what: &str) -> Result<LockInfo, crate::framework::Status> {
    match lock.inspect().await.or_fail("inspect")? {
        Some(info) => Ok(info),
        None => fail!("inspect returned none {what}"),
    }
}

async fn free(lock: &Lock, what: &str) -> Outcome {
    if let Some(info) = lock.inspect().await.or_fail("inspect")? {
        fail!(
            "inspect still shows a lock {what}: holder {} nonce {:?}",
            info.holder,
            info.nonce
        );
    }
    Ok(())
}

fn nonce_of(info: &LockInfo) -> Result<String, crate::framework::Status> {
    match &info.nonce {
        Some(n) if !n.is_empty() => Ok(n.clone()),
        _ => fail!("the stored lock has no nonce"),
    }
}

fn looks_iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && b[16] == b':'
}

async fn inspect_null_before(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    free(&lock, "before any acquire").await
}

async fn inspect_after_acquire(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    lock.acquire().await.or_fail("acquire")?;
    let info = held(&lock, "after acquire").await?;
    lock.release().await.or_fail("release")?;
    ensure!(!info.hostname.is_empty(), "hostname is empty");
    ensure!(
        info.holder.ends_with(&format!("@{}", info.hostname))
            && info.holder.len() > info.hostname.len() + 1,
        "holder {:?} is not \"{{user}}@{}\"",
        info.holder,
        info.hostname
    );
    ensure!(
        looks_iso8601(&info.acquired_at),
        "acquired-at {:?} is not an ISO-8601 time",
        info.acquired_at
    );
    ensure!(
        info.ttl_ms == 5_000,
        "ttl-ms is {}, the lock was made with 5000",
        info.ttl_ms
    );
    nonce_of(&info)?;
    Ok(())
}

async fn release_then_null(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    lock.acquire().await.or_fail("acquire")?;
    lock.release().await.or_fail("release")?;
    free(&lock, "after release").await?;
    lock.release().await.or_fail("second release")?;
    free(&lock, "after a second release").await
}

async fn with_lock_value(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    let observer = f.lock(steady()).await?;
    let seen = lock
        .with_lock(|| async { Ok::<_, HostError>((42, observer.inspect().await?)) })
        .await
        .map_err(|e| crate::framework::Status::Fail(format!("with_lock: {e}")))?;
    ensure!(seen.0 == 42, "with_lock returned {} instead of 42", seen.0);
    ensure!(
        seen.1.is_some(),
        "another handle saw no lock while the body ran"
    );
    free(&lock, "after with_lock").await
}

async fn with_lock_error(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    match lock
        .with_lock(|| async { Err::<(), _>("the body failed") })
        .await
    {
        Err(WithLockError::Body("the body failed")) => {}
        Err(e) => fail!("with_lock: expected the body's error, got {e}"),
        Ok(()) => fail!("with_lock returned Ok for a failing body"),
    }
    free(&lock, "after with_lock's body failed").await?;
    // The handle is still usable afterwards.
    lock.acquire()
        .await
        .or_fail("acquire after the failed with_lock")?;
    lock.release().await.or_fail("release")
}

async fn force_release_right(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    lock.acquire().await.or_fail("acquire")?;
    let nonce = nonce_of(&held(&lock, "after acquire").await?)?;
    let done = lock.force_release(&nonce).await.or_fail("force-release")?;
    ensure!(done, "force-release with the holder's nonce returned false");
    free(&lock, "after force-release with the right nonce").await?;
    // release afterwards is tolerated; it must not fail the instance.
    if let Err(
        e @ (HostError::Trap { .. } | HostError::Deadline { .. } | HostError::InstanceStopped(_)),
    ) = lock.release().await
    {
        fail!("release after force-release: {e}");
    }
    // From another handle (another process) too.
    lock.acquire().await.or_fail("acquire again")?;
    let nonce = nonce_of(&held(&lock, "after the second acquire").await?)?;
    let other = f.lock(steady()).await?;
    ensure!(
        other
            .force_release(&nonce)
            .await
            .or_fail("force-release from another handle")?,
        "force-release from another handle with the holder's nonce returned false"
    );
    free(&lock, "after another handle force-released it").await?;
    let _ = lock.release().await;
    Ok(())
}

async fn force_release_wrong(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    ensure!(
        !lock
            .force_release("wrong-nonce-value")
            .await
            .or_fail("force-release on a free lock")?,
        "force-release returned true while nobody held the lock"
    );
    lock.acquire().await.or_fail("acquire")?;
    let before = nonce_of(&held(&lock, "after acquire").await?)?;
    let done = lock
        .force_release("wrong-nonce-value")
        .await
        .or_fail("force-release")?;
    ensure!(!done, "force-release with a wrong nonce returned true");
    let after = nonce_of(&held(&lock, "after force-release with a wrong nonce").await?)?;
    ensure!(
        after == before,
        "the stored nonce changed from {before} to {after}"
    );
    lock.release().await.or_fail("release")?;
    free(&lock, "after release").await
}

async fn fresh_nonce(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    let mut nonces = Vec::new();
    for round in 1..=3 {
        lock.acquire().await.or_fail(&format!("acquire #{round}"))?;
        let n = nonce_of(&held(&lock, &format!("after acquire #{round}")).await?)?;
        ensure!(!nonces.contains(&n), "acquire #{round} reused nonce {n}");
        nonces.push(n);
        lock.release().await.or_fail(&format!("release #{round}"))?;
        free(&lock, &format!("after release #{round}")).await?;
    }
    Ok(())
}

async fn double_acquire(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady().max_wait_ms(500)).await?;
    lock.acquire().await.or_fail("acquire")?;
    let nonce = nonce_of(&held(&lock, "after acquire").await?)?;
    let second = lock.acquire().await;
    let after = held(&lock, "after the second acquire").await?;
    let _ = lock.release().await;
    match second {
        Err(HostError::Datastore(DatastoreError::Conflict(_))) => {}
        Ok(()) => fail!("a second acquire on the holding handle succeeded (a silent double hold)"),
        Err(e) => fail!("a second acquire on the holding handle: expected conflict, got {e}"),
    }
    ensure!(
        after.nonce.as_deref() == Some(nonce.as_str()),
        "the refused second acquire changed the stored nonce"
    );
    Ok(())
}

async fn mutual_exclusion(cx: Ctx) -> Outcome {
    // Staggered contenders, as swamp's processes arrive; then all at once,
    // each guest paused at every host call, so that every contender has
    // looked at the lock before any of them writes: an acquire that looks
    // and then creates in two steps lets a second holder in every time.
    let f = cx.fixture().await?;
    contend(&f, Duration::from_millis(15)).await?;
    let paused = swamp_host::Limits {
        pause_at_host_calls: Duration::from_millis(3),
        ..swamp_host::Limits::default()
    };
    let f = cx.fixture_with("", Some(paused)).await?;
    contend(&f, Duration::ZERO).await.map_err(|s| match s {
        Status::Fail(m) => Status::Fail(format!(
            "with every contender paused at each host call and all starting together: {m}"
        )),
        other => other,
    })
}

/// Four contenders, three rounds each, the i-th arriving `stagger` × i
/// after each round's start; fails when two were inside at once.
async fn contend(f: &crate::framework::Fixture, stagger: Duration) -> Outcome {
    const CONTENDERS: usize = 4;
    const ROUNDS: usize = 3;
    let inside = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let entries = Arc::new(AtomicUsize::new(0));
    // Every round starts with all contenders at a barrier; then they come in
    // staggered, each a little after the previous one, while a holder stays
    // inside long enough that the later ones surely find the lock held: a
    // lock that lets a second holder in is caught however the tasks are
    // scheduled (starting all at once would let every contender find the
    // lock free and wait inside its own acquire).
    let start = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut tasks = Vec::new();
    for i in 0..CONTENDERS {
        let lock = f
            .lock(steady().max_wait_ms(20_000).retry_interval_ms(20))
            .await?;
        let stagger = stagger * i as u32;
        let (inside, overlaps, entries) = (inside.clone(), overlaps.clone(), entries.clone());
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            // A contender that failed keeps meeting the others at the
            // barrier, so they are never left waiting for it.
            let mut failed = None;
            for _ in 0..ROUNDS {
                start.wait().await;
                if failed.is_some() {
                    continue;
                }
                tokio::time::sleep(stagger).await;
                if let Err(e) = lock.acquire().await {
                    failed = Some(format!("acquire: {e}"));
                    continue;
                }
                if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                entries.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(60)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                if let Err(e) = lock.release().await {
                    failed = Some(format!("release: {e}"));
                }
            }
            failed.map_or(Ok(()), Err)
        }));
    }
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => fail!("a contender failed: {e}"),
            Err(e) => fail!("a contender panicked: {e}"),
        }
    }
    let overlaps = overlaps.load(Ordering::SeqCst);
    ensure!(
        overlaps == 0,
        "two holders were inside the lock at once {overlaps} time(s)"
    );
    let n = entries.load(Ordering::SeqCst);
    ensure!(
        n == CONTENDERS * ROUNDS,
        "{n} critical sections ran, expected {}",
        CONTENDERS * ROUNDS
    );
    Ok(())
}

async fn timeout_names_holder(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let holder = f.lock(steady()).await?;
    let contender = f.lock(steady().max_wait_ms(400)).await?;
    holder.acquire().await.or_fail("acquire by the holder")?;
    let nonce = nonce_of(&held(&holder, "after acquire").await?)?;
    let started = Instant::now();
    let outcome = contender.acquire().await;
    let elapsed = started.elapsed();
    let still = held(&holder, "after the contender gave up").await?;
    let _ = holder.release().await;
    match outcome {
        Ok(()) => fail!("the contender acquired a lock that was held"),
        Err(HostError::Datastore(DatastoreError::LockTimeout {
            lock_key,
            holder,
            waited_ms,
        })) => {
            ensure!(!lock_key.is_empty(), "lock-timeout has an empty lock-key");
            ensure!(
                waited_ms >= 400,
                "lock-timeout says it waited {waited_ms} ms, max-wait was 400"
            );
            ensure!(
                elapsed >= Duration::from_millis(350),
                "acquire gave up after {} ms, before max-wait (400 ms)",
                elapsed.as_millis()
            );
            let Some(h) = holder else {
                fail!("lock-timeout does not name the holder");
            };
            ensure!(
                h.nonce.as_deref() == Some(nonce.as_str()),
                "lock-timeout names nonce {:?}, the holder's is {nonce}",
                h.nonce
            );
            ensure!(
                !h.holder.is_empty(),
                "lock-timeout's holder has an empty holder field"
            );
        }
        Err(e) => fail!("expected lock-timeout, got {e}"),
    }
    ensure!(
        still.nonce.as_deref() == Some(nonce.as_str()),
        "the holder's lock changed while the contender waited"
    );
    Ok(())
}

/// A holder with a short TTL that stops heartbeating, and a successor that
/// takes the lock over once the TTL expired.
struct Takeover {
    old: Lock,
    old_nonce: String,
    new: Lock,
    new_nonce: String,
    waited: Duration,
}

async fn takeover(cx: &Ctx) -> Result<Takeover, crate::framework::Status> {
    const TTL: u64 = 600;
    let f = cx.fixture().await?;
    let old = f.lock(short(TTL, 2_000)).await?;
    let new = f.lock(short(TTL, 5_000)).await?;
    old.acquire().await.or_fail("acquire by the first holder")?;
    old.pause_heartbeats(true);
    let old_nonce = nonce_of(&held(&old, "after the first acquire").await?)?;
    let started = Instant::now();
    new.acquire()
        .await
        .or_fail("acquire by a contender once the first holder's TTL expired")?;
    let waited = started.elapsed();
    let new_nonce = nonce_of(&held(&new, "after the takeover").await?)?;
    ensure!(
        new_nonce != old_nonce,
        "the successor's lock carries the old holder's nonce"
    );
    Ok(Takeover {
        old,
        old_nonce,
        new,
        new_nonce,
        waited,
    })
}

async fn expired_taken_over(cx: Ctx) -> Outcome {
    let t = takeover(&cx).await?;
    ensure!(
        t.waited >= Duration::from_millis(300),
        "the contender took the lock after {} ms, long before the 600 ms TTL expired",
        t.waited.as_millis()
    );
    let _ = t.new.release().await;
    let _ = t.old.release().await;
    Ok(())
}

async fn heartbeat_keeps_alive(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    // TTL 1.5 s, heartbeats every 0.5 s: only a heartbeat more than a
    // second late (a starved machine) could let the contender in.
    let holder = f.lock(short(1_500, 2_000)).await?;
    let contender = f.lock(short(1_500, 4_000)).await?;
    holder.acquire().await.or_fail("acquire")?;
    let nonce = nonce_of(&held(&holder, "after acquire").await?)?;
    let outcome = contender.acquire().await;
    let lost = holder.lost();
    let beats = holder.heartbeats();
    let still = holder.inspect().await.or_fail("inspect")?;
    let _ = holder.release().await;
    let _ = contender.release().await;
    match outcome {
        Err(HostError::Datastore(DatastoreError::LockTimeout { .. })) => {}
        Ok(()) => fail!(
            "a contender took over a lock whose holder heartbeated every ttl/3 ({beats} heartbeats)"
        ),
        Err(e) => fail!("expected lock-timeout for the contender, got {e}"),
    }
    ensure!(
        lost.is_none(),
        "the holder lost its lock while heartbeating: {}",
        lost.unwrap_or_default()
    );
    ensure!(
        beats >= 3,
        "only {beats} heartbeats succeeded in 3 s with a 900 ms TTL"
    );
    ensure!(
        still.as_ref().and_then(|i| i.nonce.as_deref()) == Some(nonce.as_str()),
        "the stored lock is no longer the holder's"
    );
    Ok(())
}

async fn lost_heartbeat_fenced(cx: Ctx) -> Outcome {
    let t = takeover(&cx).await?;
    let beat = t.old.heartbeat().await;
    let after = held(&t.new, "after the old holder's heartbeat").await?;
    let _ = t.new.release().await;
    match beat {
        Err(HostError::Datastore(DatastoreError::LockLost(_))) => {}
        Ok(()) => fail!("heartbeat by a holder whose lock was taken over succeeded (no fencing)"),
        Err(e) => fail!("heartbeat after losing the lock: expected lock-lost, got {e}"),
    }
    ensure!(
        after.nonce.as_deref() == Some(t.new_nonce.as_str()),
        "the old holder's heartbeat replaced the successor's lock (nonce now {:?})",
        after.nonce
    );
    Ok(())
}

async fn lost_release_keeps_successor(cx: Ctx) -> Outcome {
    let t = takeover(&cx).await?;
    let _ = t.old.release().await;
    let after = held(
        &t.new,
        "after the old holder released: the successor's lock was deleted",
    )
    .await?;
    ensure!(
        after.nonce.as_deref() == Some(t.new_nonce.as_str()),
        "the old holder's release changed the successor's lock (nonce now {:?})",
        after.nonce
    );
    let forced = t
        .old
        .force_release(&t.old_nonce)
        .await
        .or_fail("force-release with the old nonce")?;
    ensure!(
        !forced,
        "force-release with the old holder's nonce deleted the successor's lock"
    );
    let after = held(&t.new, "after force-release with the old nonce").await?;
    ensure!(
        after.nonce.as_deref() == Some(t.new_nonce.as_str()),
        "the successor's lock changed"
    );
    t.new.release().await.or_fail("release by the successor")?;
    free(&t.new, "after the successor released").await
}

async fn release_by_non_holder(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let holder = f.lock(steady()).await?;
    let bystander = f.lock(steady()).await?;
    bystander
        .release()
        .await
        .or_fail("release on a handle that never acquired (free lock)")?;
    holder.acquire().await.or_fail("acquire")?;
    let nonce = nonce_of(&held(&holder, "after acquire").await?)?;
    bystander
        .release()
        .await
        .or_fail("release on a handle that never acquired (lock held by another)")?;
    bystander
        .release()
        .await
        .or_fail("second release on that handle")?;
    let after = held(
        &holder,
        "after a bystander's release: it deleted the holder's lock",
    )
    .await?;
    ensure!(
        after.nonce.as_deref() == Some(nonce.as_str()),
        "a bystander's release changed the holder's lock"
    );
    holder.release().await.or_fail("release")?;
    free(&holder, "after release").await
}

async fn keys_independent(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let (ka, kb) = (
        "data/conformance/model-a/.lock",
        "data/conformance/model-b/.lock",
    );
    let a = f
        .lock(
            LockOptions::with_key(ka)
                .ttl_ms(5_000)
                .retry_interval_ms(50)
                .max_wait_ms(500),
        )
        .await?;
    let b = f
        .lock(
            LockOptions::with_key(kb)
                .ttl_ms(5_000)
                .retry_interval_ms(50)
                .max_wait_ms(500),
        )
        .await?;
    let global = f.lock(steady()).await?;
    ensure!(
        a.key().ends_with(ka),
        "lock-key {:?} does not name the key {ka:?} it was made with",
        a.key()
    );
    ensure!(
        a.key() != b.key(),
        "two different lock keys resolved to the same key {:?}",
        a.key()
    );
    a.acquire().await.or_fail("acquire key A")?;
    let b_result = b.acquire().await;
    let g = global.inspect().await.or_fail("inspect the default key")?;
    let a_info = a.inspect().await.or_fail("inspect key A")?;
    let _ = a.release().await;
    let _ = b.release().await;
    b_result.or_fail("acquire key B while key A is held")?;
    ensure!(
        g.is_none(),
        "holding keys A and B shows the default key as held"
    );
    ensure!(
        a_info.is_some(),
        "key A is not shown as held after B was acquired"
    );
    Ok(())
}

async fn keys_not_flattened(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    // A backend that maps keys to names by replacing `/` (or joining with
    // `--`) makes these one lock: two models' runs would exclude each
    // other, or, worse, a release of one would free the other.
    let keys = [
        "data/aws/vpc_m1/.lock",
        "data/aws_vpc/m1/.lock",
        "data/aws--vpc/m1/.lock",
    ];
    let mut locks = Vec::new();
    for key in keys {
        let lock = f
            .lock(
                LockOptions::with_key(key)
                    .ttl_ms(5_000)
                    .retry_interval_ms(50)
                    .max_wait_ms(400),
            )
            .await?;
        locks.push(lock);
    }
    let mut outcome = Ok(());
    let mut nonces = Vec::new();
    for (lock, key) in locks.iter().zip(keys) {
        match lock.acquire().await {
            Ok(()) => nonces.push(nonce_of(
                &held(lock, &format!("after acquiring {key}")).await?,
            )?),
            Err(e) => {
                outcome = Err(crate::framework::Status::Fail(format!(
                    "acquire {key} while {} held: {e} (the keys collide)",
                    keys[..nonces.len()].join(" and ")
                )));
                break;
            }
        }
    }
    // Each key still shows its own holder.
    let mut shown = Vec::new();
    for lock in &locks {
        shown.push(lock.inspect().await.ok().flatten().and_then(|i| i.nonce));
    }
    for lock in &locks {
        let _ = lock.release().await;
    }
    outcome?;
    for ((key, nonce), seen) in keys.iter().zip(&nonces).zip(&shown) {
        ensure!(
            seen.as_deref() == Some(nonce.as_str()),
            "{key} shows nonce {seen:?}, its holder's is {nonce}: another key's lock replaced it"
        );
    }
    Ok(())
}

async fn stale_by_holders_ttl(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    // A live lock: TTL 3 s, heartbeats every second. A contender with a
    // 200 ms TTL of its own sees it "older than 200 ms" between heartbeats.
    let holder = f.lock(short(3_000, 2_000)).await?;
    let contender = f.lock(short(200, 2_500)).await?;
    holder
        .acquire()
        .await
        .or_fail("acquire by the holder (TTL 3000 ms)")?;
    let nonce = nonce_of(&held(&holder, "after acquire").await?)?;
    let outcome = contender.acquire().await;
    let still = holder.inspect().await.or_fail("inspect")?;
    let _ = holder.release().await;
    let _ = contender.release().await;
    match outcome {
        Err(HostError::Datastore(DatastoreError::LockTimeout { .. })) => {}
        Ok(()) => fail!(
            "a contender with a 200 ms TTL took over a lock held with a 3000 ms TTL and heartbeats: staleness must be judged by the holder's stored ttl-ms"
        ),
        Err(e) => fail!("the short-TTL contender: expected lock-timeout, got {e}"),
    }
    ensure!(
        still.as_ref().and_then(|i| i.nonce.as_deref()) == Some(nonce.as_str()),
        "the holder's lock changed while the short-TTL contender waited"
    );

    // An expired lock: TTL 400 ms, no heartbeats. A contender whose own TTL
    // is 30 s must still take it over once the holder's 400 ms have passed.
    let holder = f.lock(short(400, 2_000)).await?;
    let contender = f.lock(short(30_000, 4_000)).await?;
    holder
        .acquire()
        .await
        .or_fail("acquire by the holder (TTL 400 ms)")?;
    holder.pause_heartbeats(true);
    let outcome = contender.acquire().await;
    let _ = contender.release().await;
    let _ = holder.release().await;
    outcome.or_fail(
        "acquire by a contender with a 30 s TTL of a lock whose holder's 400 ms TTL expired (staleness judged by the contender's own TTL?)",
    )
}

async fn max_wait_zero(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let first = f.lock(steady().max_wait_ms(0)).await?;
    first
        .acquire()
        .await
        .or_fail("acquire with max-wait 0 on a free lock (an acquire must try at least once)")?;
    let second = f.lock(steady().max_wait_ms(0)).await?;
    let started = Instant::now();
    let outcome = second.acquire().await;
    let elapsed = started.elapsed();
    let _ = first.release().await;
    let _ = second.release().await;
    match outcome {
        Err(HostError::Datastore(DatastoreError::LockTimeout { .. })) => {}
        Ok(()) => fail!("an acquire with max-wait 0 took a lock another handle held"),
        Err(e) => fail!("acquire with max-wait 0 on a held lock: expected lock-timeout, got {e}"),
    }
    ensure!(
        elapsed < Duration::from_secs(3),
        "acquire with max-wait 0 on a held lock took {} ms to give up",
        elapsed.as_millis()
    );
    Ok(())
}

async fn force_release_wrong_nonce_expired(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let holder = f.lock(short(300, 2_000)).await?;
    holder.acquire().await.or_fail("acquire")?;
    holder.pause_heartbeats(true);
    let nonce = nonce_of(&held(&holder, "after acquire").await?)?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let other = f.lock(steady()).await?;
    let done = other
        .force_release("wrong-nonce-value")
        .await
        .or_fail("force-release with a wrong nonce on an expired lock")?;
    let after = other.inspect().await.or_fail("inspect")?;
    ensure!(
        !done,
        "force-release with a wrong nonce returned true on an expired lock"
    );
    ensure!(
        after.as_ref().and_then(|i| i.nonce.as_deref()) == Some(nonce.as_str()),
        "force-release with a wrong nonce removed (or changed) an expired lock: only the holder's nonce, or a takeover by acquire, may"
    );
    let done = other
        .force_release(&nonce)
        .await
        .or_fail("force-release with the holder's nonce on an expired lock")?;
    ensure!(
        done,
        "force-release with the holder's nonce returned false on an expired lock"
    );
    let _ = holder.release().await;
    free(&other, "after force-release with the right nonce").await
}

async fn heartbeat_after_force_release(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let holder = f.lock(steady()).await?;
    holder.acquire().await.or_fail("acquire")?;
    holder.pause_heartbeats(true);
    let nonce = nonce_of(&held(&holder, "after acquire").await?)?;
    let admin = f.lock(steady()).await?;
    ensure!(
        admin
            .force_release(&nonce)
            .await
            .or_fail("force-release with the holder's nonce")?,
        "force-release with the holder's nonce returned false"
    );
    let beat = holder.heartbeat().await;
    let after = admin
        .inspect()
        .await
        .or_fail("inspect after the heartbeat")?;
    let _ = holder.release().await;
    match beat {
        Err(HostError::Datastore(DatastoreError::LockLost(_))) => {}
        Ok(()) => fail!("the old holder's heartbeat succeeded after its lock was force-released"),
        Err(e) => fail!("heartbeat after a force-release: expected lock-lost, got {e}"),
    }
    ensure!(
        after.is_none(),
        "the old holder's heartbeat put the force-released lock back (nonce {:?})",
        after.and_then(|i| i.nonce)
    );
    Ok(())
}

/// swamp's global lock key (its default).
const GLOBAL_KEY: &str = ".datastore.lock";

/// The lock file of `key` on a datastore that is a local directory (the
/// check's datastore is a mounted directory and the datastore path lies in
/// it), as swamp's filesystem lock names it; `None` (the check is
/// skipped) otherwise.
fn local_lock_file(f: &crate::framework::Fixture, key: &str) -> Option<std::path::PathBuf> {
    let mounted = f.cx.isolated_dir(&f.config)?;
    let dir = std::path::Path::new(&f.datastore_path);
    (dir.is_absolute() && dir.starts_with(&mounted) && dir.is_dir()).then(|| dir.join(key))
}

/// Where a check reads or plants lock `key` beneath the component: the
/// lock file in a local datastore directory, else the object through the
/// subject's raw store (a bucket), where swamp's own datastores keep it.
enum LockPlace {
    File(std::path::PathBuf),
    Raw(crate::raw_store::Raw, String),
}

impl LockPlace {
    fn of(f: &crate::framework::Fixture, key: &str) -> Option<LockPlace> {
        if let Some(file) = local_lock_file(f, key) {
            return Some(LockPlace::File(file));
        }
        if f.cx.isolated_dir(&f.config).is_some() {
            return None; // a local directory that does not hold the datastore path
        }
        f.cx.raw(&f.config)
            .map(|r| LockPlace::Raw(r, key.to_string()))
    }
    fn read(&self) -> Result<Option<Vec<u8>>, String> {
        match self {
            LockPlace::File(p) => match std::fs::read(p) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("{}: {e}", p.display())),
            },
            LockPlace::Raw(r, key) => r.get(key),
        }
    }
    fn plant(&self, bytes: &[u8]) -> Result<(), String> {
        match self {
            LockPlace::File(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::write(p, bytes).map_err(|e| e.to_string())
            }
            LockPlace::Raw(r, key) => r.put(key, bytes),
        }
    }
    /// Remove what was planted (a local file; a bucket's objects stay
    /// under the check's own prefix).
    fn clear(&self) {
        if let LockPlace::File(p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
    fn describe(&self) -> String {
        match self {
            LockPlace::File(p) => p.display().to_string(),
            LockPlace::Raw(r, key) => r.describe(key),
        }
    }
}

async fn where_swamp_puts_it(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let model_key = "data/conformance/m1/.lock";
    if LockPlace::of(&f, GLOBAL_KEY).is_none() {
        crate::framework::skip!(
            "the datastore path {:?} is not a local directory and no raw store was given to look beneath the component",
            f.datastore_path
        );
    }
    for key in [GLOBAL_KEY, model_key] {
        let place = LockPlace::of(&f, key).expect("checked above");
        let lock = f
            .lock(LockOptions::with_key(key).ttl_ms(5_000).max_wait_ms(2_000))
            .await?;
        lock.acquire().await.or_fail(&format!("acquire {key}"))?;
        let nonce = nonce_of(&held(&lock, &format!("after acquiring {key}")).await?)?;
        let stored = place.read();
        let _ = lock.release().await;
        let bytes = match stored {
            Ok(Some(b)) => b,
            Ok(None) => fail!(
                "holding {key}, there is no lock at {}: swamp's own datastore of this kind looks there, so the two would not exclude each other",
                place.describe()
            ),
            Err(e) => fail!("holding {key}, reading {}: {e}", place.describe()),
        };
        let info: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            crate::framework::Status::Fail(format!(
                "{} is not LockInfo JSON ({e})",
                place.describe()
            ))
        })?;
        ensure!(
            info.get("nonce").and_then(|n| n.as_str()) == Some(nonce.as_str()),
            "{} holds nonce {:?}, the holder's is {nonce}",
            place.describe(),
            info.get("nonce")
        );
        ensure!(
            matches!(place.read(), Ok(None)),
            "release left {} behind",
            place.describe()
        );
    }
    Ok(())
}

/// Lock bodies nobody can read as a LockInfo, from the hostile input
/// corpus (`hostile/lock/`, where each case says why it is there), plus one
/// cut off mid-write by a client without atomic publish.
const CORRUPT_LOCK_BODIES: [(&str, &[u8]); 10] = [
    (
        "half-written",
        br#"{"holder":"ann@box","hostname":"box","pid":4242,"acquiredAt":"2026-"#,
    ),
    (
        "acquired-at-garbage",
        include_bytes!("../../hostile/lock/acquired-at-garbage.json"),
    ),
    ("empty", include_bytes!("../../hostile/lock/empty.json")),
    (
        "missing-fields",
        include_bytes!("../../hostile/lock/missing-fields.json"),
    ),
    (
        "non-utf8-holder",
        include_bytes!("../../hostile/lock/non-utf8-holder.json"),
    ),
    (
        "not-json",
        include_bytes!("../../hostile/lock/not-json.json"),
    ),
    (
        "pid-string",
        include_bytes!("../../hostile/lock/pid-string.json"),
    ),
    (
        "truncated",
        include_bytes!("../../hostile/lock/truncated.json"),
    ),
    (
        "ttl-float",
        include_bytes!("../../hostile/lock/ttl-float.json"),
    ),
    (
        "ttl-negative",
        include_bytes!("../../hostile/lock/ttl-negative.json"),
    ),
];

async fn corrupt_file_held(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    if LockPlace::of(&f, GLOBAL_KEY).is_none() {
        crate::framework::skip!(
            "the datastore path {:?} is not a local directory the suite can plant a lock file in, and no raw store was given",
            f.datastore_path
        );
    }
    for (i, (case, planted)) in CORRUPT_LOCK_BODIES.iter().enumerate() {
        let key = format!("data/conformance/corrupt-{i}/.lock");
        let place = LockPlace::of(&f, &key).expect("checked above");
        place
            .plant(planted)
            .map_err(|e| crate::framework::Status::Fail(format!("planting a lock file: {e}")))?;
        let lock = f
            .lock(
                LockOptions::with_key(key.as_str())
                    .ttl_ms(30_000)
                    .retry_interval_ms(50)
                    .max_wait_ms(300),
            )
            .await?;
        let seen = lock.inspect().await;
        let outcome = lock.acquire().await;
        let after = place.read().ok().flatten();
        let _ = lock.release().await;
        place.clear();
        match seen {
            Err(HostError::Datastore(DatastoreError::CorruptData(_))) => {}
            Ok(None) => fail!(
                "{case} lock file: inspect said \"no lock\" (expected corrupt-data: a lock file is there that nobody can read)"
            ),
            Ok(Some(i)) => fail!("{case} lock file: inspect made a lock out of it: {i:?}"),
            Err(e) => fail!("{case} lock file: inspect: expected corrupt-data, got {e}"),
        }
        match outcome {
            Err(HostError::Datastore(DatastoreError::LockTimeout { .. })) => {}
            Ok(()) => fail!(
                "{case} lock file: an acquire took it over at once (it may be a holder still writing it)"
            ),
            Err(e) => fail!("{case} lock file: acquire: expected lock-timeout, got {e}"),
        }
        ensure!(
            after.as_deref() == Some(*planted),
            "{case} lock file: it was changed or removed by a failed acquire"
        );
    }
    Ok(())
}
