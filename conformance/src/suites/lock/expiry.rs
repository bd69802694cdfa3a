//! Time: a TTL's expiry and takeover, heartbeats that keep a lock alive,
//! and the fencing of a holder that lost its lock.

use super::{free, held, nonce_of, short, steady};
use crate::framework::{Ctx, OrFail, Outcome, ensure, fail};
use std::time::{Duration, Instant};
use swamp_host::{DatastoreError, HostError, Lock};

/// A holder with a short TTL that stops heartbeating, and a successor that
/// takes the lock over once the TTL expired.
struct Takeover {
    old: Lock,
    old_nonce: String,
    new: Lock,
    new_nonce: String,
    waited: Duration,
}

/// How long a contender waits for a lock it must take over once expired.
pub(super) const TAKEOVER_WAIT_MS: u64 = 20_000;

async fn takeover(cx: &Ctx) -> Result<Takeover, crate::framework::Status> {
    const TTL: u64 = 600;
    let f = cx.fixture().await?;
    let old = f.lock(short(TTL, 2_000)).await?;
    // The successor takes the lock the moment it expires; the long wait
    // only bounds a guest that never takes it over, so that a machine too
    // busy to retry every 50 ms does not fail the check.
    let new = f.lock(short(TTL, TAKEOVER_WAIT_MS)).await?;
    // Paused before the acquire: a scheduled heartbeat could otherwise
    // renew the lock before the pause.
    old.pause_heartbeats(true);
    old.acquire().await.or_fail("acquire by the first holder")?;
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

pub(super) async fn expired_taken_over(cx: Ctx) -> Outcome {
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

pub(super) async fn lost_heartbeat_fenced(cx: Ctx) -> Outcome {
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

pub(super) async fn lost_release_keeps_successor(cx: Ctx) -> Outcome {
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

pub(super) async fn force_release_wrong_nonce_expired(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let holder = f.lock(short(300, 2_000)).await?;
    holder.pause_heartbeats(true);
    holder.acquire().await.or_fail("acquire")?;
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

pub(super) async fn heartbeat_after_force_release(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let holder = f.lock(steady()).await?;
    holder.pause_heartbeats(true);
    holder.acquire().await.or_fail("acquire")?;
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
