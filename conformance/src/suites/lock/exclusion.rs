//! Exclusion between separate handles (each a guest instance of its own, as
//! two processes would be): contenders, timeouts, bystanders and keys.

use super::{free, held, nonce_of, steady};
use crate::framework::{Ctx, OrFail, Outcome, Status, ensure, fail};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use swamp_host::{DatastoreError, HostError, LockOptions};

pub(super) async fn mutual_exclusion(cx: Ctx) -> Outcome {
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

pub(super) async fn timeout_names_holder(cx: Ctx) -> Outcome {
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

pub(super) async fn release_by_non_holder(cx: Ctx) -> Outcome {
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

pub(super) async fn keys_independent(cx: Ctx) -> Outcome {
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

pub(super) async fn keys_not_flattened(cx: Ctx) -> Outcome {
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
