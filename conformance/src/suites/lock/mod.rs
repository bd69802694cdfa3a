//! Locks: swamp's kit in order (docs/contract.md §9.2, one check per step),
//! then the behaviour a distributed lock must have between separate handles
//! (each `create-lock` is a guest instance of its own, as two processes
//! would be).
//!
//! The checks are in files along those lines: `kit.rs` (swamp's kit),
//! `exclusion.rs` (contenders, timeouts, keys), `expiry.rs` (TTLs,
//! takeover, fencing), `keep_alive.rs` (heartbeats, judged on times the
//! check notes) and `storage.rs` (where the lock is stored, and a
//! stored lock nobody can read).

mod exclusion;
mod expiry;
mod keep_alive;
mod kit;
mod storage;

use crate::framework::{Check, OrFail, Outcome, Status, Suite, check, fail};
use swamp_host::{Lock, LockInfo, LockOptions};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "lock.inspect-null-before-acquire",
            Suite::Lock,
            "inspect returns none before acquire",
            kit::inspect_null_before
        ),
        check!(
            "lock.inspect-after-acquire",
            Suite::Lock,
            "after acquire, inspect returns holder, hostname, pid, ISO-8601 acquired-at, ttl-ms and a nonce",
            kit::inspect_after_acquire
        ),
        check!(
            "lock.release-then-null",
            Suite::Lock,
            "inspect returns none after release; a second release succeeds",
            kit::release_then_null
        ),
        check!(
            "lock.with-lock-returns-value",
            Suite::Lock,
            "with_lock holds the lock while the body runs, returns its value and frees the lock",
            kit::with_lock_value
        ),
        check!(
            "lock.with-lock-releases-on-error",
            Suite::Lock,
            "with_lock releases the lock when the body fails",
            kit::with_lock_error
        ),
        check!(
            "lock.force-release-right-nonce",
            Suite::Lock,
            "force-release with the holder's nonce returns true and frees the lock",
            kit::force_release_right
        ),
        check!(
            "lock.force-release-wrong-nonce",
            Suite::Lock,
            "force-release with a wrong nonce (or no lock) returns false and leaves the lock held",
            kit::force_release_wrong
        ),
        check!(
            "lock.fresh-nonce-per-acquire",
            Suite::Lock,
            "a handle is reusable and every acquire writes a fresh nonce",
            kit::fresh_nonce
        ),
        check!(
            "lock.double-acquire-refused",
            Suite::Lock,
            "acquiring a lock the same handle already holds fails with conflict",
            kit::double_acquire
        ),
        check!(
            "lock.mutual-exclusion",
            Suite::Lock,
            "four contenders on separate handles, arriving staggered and then all at once with each guest paused at every host call (so a look-then-create acquire races every time), are never inside the lock together",
            exclusion::mutual_exclusion
        ),
        check!(
            "lock.timeout-names-holder",
            Suite::Lock,
            "acquire gives up after max-wait with lock-timeout naming the holder and the time waited",
            exclusion::timeout_names_holder
        ),
        check!(
            "lock.expired-taken-over",
            Suite::Lock,
            "a lock whose TTL expired (holder stopped heartbeating) is taken over, not before",
            expiry::expired_taken_over
        ),
        check!(
            "lock.heartbeat-keeps-alive",
            Suite::Lock,
            "a holder that heartbeats is never taken over, however long a contender waits",
            keep_alive::heartbeat_keeps_alive
        ),
        check!(
            "lock.lost-heartbeat-fenced",
            Suite::Lock,
            "a holder whose lock was taken over gets lock-lost on heartbeat and does not overwrite the successor",
            expiry::lost_heartbeat_fenced
        ),
        check!(
            "lock.lost-release-keeps-successor",
            Suite::Lock,
            "release (and force-release) by a holder that lost its lock leaves the successor's lock in place",
            expiry::lost_release_keeps_successor
        ),
        check!(
            "lock.release-by-non-holder",
            Suite::Lock,
            "release on a handle that never acquired succeeds and does not free another holder's lock",
            exclusion::release_by_non_holder
        ),
        check!(
            "lock.keys-independent",
            Suite::Lock,
            "locks on two different keys do not block each other nor the default key",
            exclusion::keys_independent
        ),
        check!(
            "lock.where-swamp-puts-it",
            Suite::Lock,
            "the lock of key K is where swamp's own datastore of the kind keeps it, holding the holder's LockInfo JSON, and gone after release: the file {datastore-path}/K on a local directory, the object {prefix}/K on a bucket (when the suite is given raw access to it), so mixed clients exclude each other",
            storage::where_swamp_puts_it
        ),
        check!(
            "lock.corrupt-file-held",
            Suite::Lock,
            "a lock file nobody can read (half-written, empty, not JSON, wrong types: the hostile corpus's cases) is never taken for no lock: inspect reports corrupt-data, an acquire with a short max-wait times out, and the file is left as it was",
            storage::corrupt_file_held
        ),
        check!(
            "lock.keys-not-flattened",
            Suite::Lock,
            "keys that differ only in where `/` falls (data/aws/vpc_m1/.lock, data/aws_vpc/m1/.lock, data/aws--vpc/m1/.lock) are different locks",
            exclusion::keys_not_flattened
        ),
        check!(
            "lock.stale-by-holders-ttl",
            Suite::Lock,
            "staleness is judged by the TTL the holder stored, not the contender's own: a shorter-TTL contender never takes a live lock, a longer-TTL one takes an expired lock",
            keep_alive::stale_by_holders_ttl
        ),
        check!(
            "lock.max-wait-zero",
            Suite::Lock,
            "an acquire makes at least one attempt: with max-wait 0 it takes a free lock, and on a held lock ends at once with lock-timeout",
            kit::max_wait_zero
        ),
        check!(
            "lock.force-release-wrong-nonce-expired",
            Suite::Lock,
            "force-release with a wrong nonce leaves even an expired lock in place; the right nonce still releases it",
            expiry::force_release_wrong_nonce_expired
        ),
        check!(
            "lock.heartbeat-after-force-release",
            Suite::Lock,
            "after a force-release, the old holder's heartbeat fails with lock-lost and does not put the lock back",
            expiry::heartbeat_after_force_release
        ),
    ]
}

/// Options with a long TTL (no expiry during the check) and quick retries.
pub(super) fn steady() -> LockOptions {
    LockOptions::default()
        .ttl_ms(5_000)
        .retry_interval_ms(50)
        .max_wait_ms(2_000)
}

/// Options with a short TTL, for expiry and heartbeat checks.
pub(super) fn short(ttl_ms: u64, max_wait_ms: u64) -> LockOptions {
    LockOptions::default()
        .ttl_ms(ttl_ms)
        .retry_interval_ms(50)
        .max_wait_ms(max_wait_ms)
}

pub(super) async fn held(lock: &Lock, what: &str) -> Result<LockInfo, Status> {
    match lock.inspect().await.or_fail("inspect")? {
        Some(info) => Ok(info),
        None => fail!("inspect returned none {what}"),
    }
}

pub(super) async fn free(lock: &Lock, what: &str) -> Outcome {
    if let Some(info) = lock.inspect().await.or_fail("inspect")? {
        fail!(
            "inspect still shows a lock {what}: holder {} nonce {:?}",
            info.holder,
            info.nonce
        );
    }
    Ok(())
}

pub(super) fn nonce_of(info: &LockInfo) -> Result<String, Status> {
    match &info.nonce {
        Some(n) if !n.is_empty() => Ok(n.clone()),
        _ => fail!("the stored lock has no nonce"),
    }
}
