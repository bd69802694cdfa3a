//! Heartbeats that keep a lock alive, judged on times the check knows.
//!
//! "A contender took over a lock that was heartbeated" is a failure only if
//! the lock was live when it happened, and on a loaded machine a heartbeat
//! can come back late enough for the lock to expire honestly. So these
//! checks send the holder's heartbeats themselves (the host's scheduler is
//! paused) and note when each was sent and when it returned; a verdict is
//! given only when those times prove the lock was live for the whole of the
//! contender's attempt. A round whose times prove nothing is run again with
//! a longer TTL, so that the outcome depends on the guest, not on how the
//! machine scheduled the check.

use super::expiry::TAKEOVER_WAIT_MS;
use super::{held, nonce_of, short};
use crate::framework::{Ctx, Fixture, OrFail, Outcome, Status, fail};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use swamp_host::{DatastoreError, HostError, HostResult, Lock};

/// What a stamp's time may lose: the stored acquired-at has millisecond
/// precision and the guest reads its own wall clock, not the check's.
const SLACK: Duration = Duration::from_millis(100);

/// The TTLs a judging round is tried with, each when the one before was
/// starved; the first is the one every round uses on a machine that keeps up.
const ROUND_TTLS_MS: [u64; 3] = [1_500, 3_000, 6_000];

/// One write of the holder's stamp (its acquire or a heartbeat): the stamp
/// is no older than `sent`, and in place by `returned`.
#[derive(Clone, Copy, Debug)]
struct Refresh {
    sent: Instant,
    returned: Instant,
}

/// Until when the lock was provably live and held without a gap: a stamp
/// keeps it live for `ttl` after it was sent, as long as the next one was
/// in place within the first half of that lease. A renewal later in the
/// lease may rightly lose the lock to a contender (a store without
/// compare-and-swap renews then by remove and exclusive create,
/// guest/sdk/src/lock_engine/dir.rs), and a heartbeat that came back that
/// late (a starved machine) ends what can be proven: from the moment it
/// may have found its stamp past the first half (no earlier than it was
/// sent), not at the end of the lease before it.
fn provably_live_until(refreshes: &[Refresh], ttl: Duration) -> Option<Instant> {
    let lease = ttl.checked_sub(SLACK)?;
    let early = (ttl / 2).checked_sub(SLACK)?;
    let (first, rest) = refreshes.split_first()?;
    let mut until = first.sent + lease;
    let mut previous = first;
    for r in rest {
        if r.returned > previous.sent + early {
            return Some(until.min(r.sent.max(previous.sent + early)));
        }
        until = r.sent + lease;
        previous = r;
    }
    Some(until)
}

/// What a round found: a verdict on the guest, or times that prove nothing.
enum Round {
    Judged(Outcome),
    Starved(String),
}

/// Run `round` with each of [`ROUND_TTLS_MS`] until one is judged.
async fn judge<F, Fut>(mut round: F) -> Outcome
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Round, Status>>,
{
    let mut starved = Vec::new();
    for ttl_ms in ROUND_TTLS_MS {
        match round(ttl_ms).await? {
            Round::Judged(outcome) => return outcome,
            Round::Starved(why) => starved.push(format!("TTL {ttl_ms} ms: {why}")),
        }
    }
    fail!(
        "could not be judged: in every round the machine delayed the heartbeats too long to prove the lock live ({})",
        starved.join("; ")
    )
}

/// A holder that has acquired and whose heartbeats the check sends.
struct Holder {
    lock: Lock,
    ttl: Duration,
    nonce: String,
    refreshes: Vec<Refresh>,
}

impl Holder {
    async fn acquire(f: &Fixture, ttl_ms: u64) -> Result<Holder, Status> {
        let lock = f.lock(short(ttl_ms, 2_000)).await?;
        // The host's own heartbeats would fall at times nobody noted.
        lock.pause_heartbeats(true);
        let sent = Instant::now();
        lock.acquire().await.or_fail("acquire by the holder")?;
        let returned = Instant::now();
        let nonce = nonce_of(&held(&lock, "after acquire").await?)?;
        Ok(Holder {
            lock,
            ttl: Duration::from_millis(ttl_ms),
            nonce,
            refreshes: vec![Refresh { sent, returned }],
        })
    }

    /// Run `attempt` while heartbeating every ttl/4 (swamp's holders beat
    /// every ttl/3; a little more often leaves room for a late one).
    /// Returns its value, with the first heartbeat that failed, if any.
    async fn heartbeat_during<T>(
        &mut self,
        attempt: impl Future<Output = T>,
    ) -> (T, Option<HostError>) {
        let done = AtomicBool::new(false);
        let attempt = async {
            let value = attempt.await;
            done.store(true, Ordering::SeqCst);
            value
        };
        let (lock, interval, refreshes) = (&self.lock, self.ttl / 4, &mut self.refreshes);
        let beats = async {
            loop {
                tokio::time::sleep(interval).await;
                if done.load(Ordering::SeqCst) {
                    return None;
                }
                let sent = Instant::now();
                if let Err(e) = lock.heartbeat().await {
                    return Some(e);
                }
                let returned = Instant::now();
                refreshes.push(Refresh { sent, returned });
            }
        };
        tokio::join!(attempt, beats)
    }

    fn live_until(&self) -> Option<Instant> {
        provably_live_until(&self.refreshes, self.ttl)
    }

    /// Whether the stored lock is still this holder's; then release.
    async fn still_held_then_release(self) -> Result<bool, Status> {
        let info = self.lock.inspect().await.or_fail("inspect")?;
        let _ = self.lock.release().await;
        Ok(info.and_then(|i| i.nonce).as_deref() == Some(self.nonce.as_str()))
    }
}

/// A contender's acquire, timed.
struct Attempt {
    outcome: HostResult<()>,
    ended: Instant,
}

async fn attempt(lock: &Lock) -> Attempt {
    let outcome = lock.acquire().await;
    Attempt {
        outcome,
        ended: Instant::now(),
    }
}

/// The verdict on one contender's attempt against a heartbeated holder:
/// a takeover while the lock was provably live fails the check, one that
/// the times cannot rule honest makes the round starved.
fn verdict(who: &str, a: &Attempt, live_until: Option<Instant>) -> Option<Round> {
    match &a.outcome {
        Err(HostError::Datastore(DatastoreError::LockTimeout { .. })) => None,
        Ok(()) if live_until.is_some_and(|until| a.ended <= until) => {
            Some(Round::Judged(Err(Status::Fail(format!(
                "{who} took over a lock whose holder heartbeated every ttl/4, while the heartbeats' times prove it was live"
            )))))
        }
        Ok(()) => Some(Round::Starved(format!(
            "{who} took the lock after a heartbeat came back too late to prove it live"
        ))),
        Err(e) => Some(Round::Judged(Err(Status::Fail(format!(
            "{who}: expected lock-timeout, got {e}"
        ))))),
    }
}

pub(super) async fn heartbeat_keeps_alive(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    judge(|ttl_ms| heartbeat_round(&f, ttl_ms)).await
}

/// A contender that waits two TTLs (a guest that judges staleness by the
/// first stamp it read takes over during the wait), then one with max-wait
/// 0 once the holder's first stamp has surely expired (a heartbeat that
/// does not renew the stamp lets it in), both while the holder heartbeats.
async fn heartbeat_round(f: &Fixture, ttl_ms: u64) -> Result<Round, Status> {
    let mut holder = Holder::acquire(f, ttl_ms).await?;
    let waiting = f.lock(short(ttl_ms, 2 * ttl_ms)).await?;
    let late = f.lock(short(ttl_ms, 0)).await?;
    let first_stamp_expired = holder.refreshes[0].returned + holder.ttl + SLACK;
    let ((waited, probed), failed) = holder
        .heartbeat_during(async {
            let waited = attempt(&waiting).await;
            if waited.outcome.is_ok() {
                return (waited, None);
            }
            tokio::time::sleep_until(first_stamp_expired.into()).await;
            (waited, Some(attempt(&late).await))
        })
        .await;
    let live_until = holder.live_until();
    let beats = holder.refreshes.len() - 1;
    let still = holder.still_held_then_release().await?;
    let _ = waiting.release().await;
    let _ = late.release().await;
    let who_waited = format!("a contender waiting {} ms", 2 * ttl_ms);
    if let Some(round) = verdict(&who_waited, &waited, live_until) {
        return Ok(round);
    }
    if let Some(round) = probed.as_ref().and_then(|p| {
        verdict(
            "a contender arriving once the holder's first stamp had expired",
            p,
            live_until,
        )
    }) {
        return Ok(round);
    }
    Ok(held_throughout(
        failed,
        still,
        &format!("while every contender timed out ({beats} heartbeats succeeded)"),
    ))
}

/// The verdict of a round in which no contender took the lock: the
/// holder's heartbeats all succeeded and the stored lock is still its own.
fn held_throughout(failed: Option<HostError>, still: bool, when: &str) -> Round {
    Round::Judged(match (failed, still) {
        (Some(e), _) => Err(Status::Fail(format!(
            "a heartbeat of the holder failed {when}: {e}"
        ))),
        (None, false) => Err(Status::Fail(format!(
            "the stored lock is no longer the holder's {when}"
        ))),
        (None, true) => Ok(()),
    })
}

pub(super) async fn stale_by_holders_ttl(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    // A live lock, heartbeated: a contender with a TTL of its own far
    // shorter than the holder's sees the stamp older than that between
    // heartbeats, and must not take it.
    judge(|ttl_ms| short_ttl_contender_round(&f, ttl_ms * 2)).await?;

    // An expired lock: TTL 400 ms, no heartbeats. A contender whose own TTL
    // is 30 s must still take it over once the holder's 400 ms have passed.
    let holder = f.lock(short(400, 2_000)).await?;
    let contender = f.lock(short(30_000, TAKEOVER_WAIT_MS)).await?;
    holder.pause_heartbeats(true);
    holder
        .acquire()
        .await
        .or_fail("acquire by the holder (TTL 400 ms)")?;
    let outcome = contender.acquire().await;
    let _ = contender.release().await;
    let _ = holder.release().await;
    outcome.or_fail(
        "acquire by a contender with a 30 s TTL of a lock whose holder's 400 ms TTL expired (staleness judged by the contender's own TTL?)",
    )
}

/// A holder with `ttl_ms`, heartbeated, and a contender whose own TTL is
/// 200 ms waiting most of a holder's TTL.
async fn short_ttl_contender_round(f: &Fixture, ttl_ms: u64) -> Result<Round, Status> {
    let mut holder = Holder::acquire(f, ttl_ms).await?;
    let contender = f.lock(short(200, ttl_ms * 5 / 6)).await?;
    let (tried, failed) = holder.heartbeat_during(attempt(&contender)).await;
    let live_until = holder.live_until();
    let still = holder.still_held_then_release().await?;
    let _ = contender.release().await;
    let who = format!("a contender with a 200 ms TTL (the holder's: {ttl_ms} ms)");
    if let Some(round) = verdict(&who, &tried, live_until) {
        return Ok(match round {
            Round::Judged(Err(Status::Fail(m))) => Round::Judged(Err(Status::Fail(format!(
                "{m}: staleness must be judged by the holder's stored ttl-ms"
            )))),
            other => other,
        });
    }
    Ok(held_throughout(
        failed,
        still,
        "while the short-TTL contender waited",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, sent_ms: u64, returned_ms: u64) -> Refresh {
        Refresh {
            sent: base + Duration::from_millis(sent_ms),
            returned: base + Duration::from_millis(returned_ms),
        }
    }

    #[test]
    fn each_heartbeat_in_time_extends_what_is_proven() {
        let t = Instant::now();
        let ttl = Duration::from_millis(1_000);
        let refreshes = [at(t, 0, 10), at(t, 250, 260), at(t, 500, 620)];
        assert_eq!(
            provably_live_until(&refreshes, ttl),
            Some(t + Duration::from_millis(500) + ttl - SLACK)
        );
    }

    #[test]
    fn a_late_heartbeat_ends_what_is_proven() {
        let t = Instant::now();
        let ttl = Duration::from_millis(1_000);
        // The second heartbeat returned late in the first stamp's lease: it
        // may have renewed by remove and create and lost the lock from the
        // moment the stamp was past the first half (400 ms by the slack),
        // so nothing after that is proven, not even by the third.
        let refreshes = [at(t, 0, 10), at(t, 330, 450), at(t, 1_600, 1_610)];
        let ms = |n| Some(t + Duration::from_millis(n));
        assert_eq!(provably_live_until(&refreshes, ttl), ms(400));
        // Sent that late, it cannot have begun before it was sent.
        let refreshes = [at(t, 0, 10), at(t, 700, 720)];
        assert_eq!(provably_live_until(&refreshes, ttl), ms(700));
        // Never later than the lease it was renewing.
        let refreshes = [at(t, 0, 10), at(t, 1_500, 1_510)];
        assert_eq!(provably_live_until(&refreshes, ttl), Some(t + ttl - SLACK));
    }

    #[test]
    fn a_ttl_within_the_slack_proves_nothing() {
        let t = Instant::now();
        assert_eq!(provably_live_until(&[at(t, 0, 1)], SLACK / 2), None);
        assert_eq!(provably_live_until(&[], Duration::from_secs(1)), None);
    }
}
