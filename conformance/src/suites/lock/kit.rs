//! swamp's lock kit, one check per step (docs/contract.md §9.2): inspect,
//! acquire, release, with-lock, force-release, nonces, max-wait.

use super::{free, held, nonce_of, steady};
use crate::framework::{Ctx, OrFail, Outcome, ensure, fail};
use std::time::{Duration, Instant};
use swamp_host::{DatastoreError, HostError, WithLockError};

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

pub(super) async fn inspect_null_before(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    free(&lock, "before any acquire").await
}

pub(super) async fn inspect_after_acquire(cx: Ctx) -> Outcome {
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

pub(super) async fn release_then_null(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f.lock(steady()).await?;
    lock.acquire().await.or_fail("acquire")?;
    lock.release().await.or_fail("release")?;
    free(&lock, "after release").await?;
    lock.release().await.or_fail("second release")?;
    free(&lock, "after a second release").await
}

pub(super) async fn with_lock_value(cx: Ctx) -> Outcome {
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

pub(super) async fn with_lock_error(cx: Ctx) -> Outcome {
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

pub(super) async fn force_release_right(cx: Ctx) -> Outcome {
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

pub(super) async fn force_release_wrong(cx: Ctx) -> Outcome {
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

pub(super) async fn fresh_nonce(cx: Ctx) -> Outcome {
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

pub(super) async fn double_acquire(cx: Ctx) -> Outcome {
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

pub(super) async fn max_wait_zero(cx: Ctx) -> Outcome {
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
