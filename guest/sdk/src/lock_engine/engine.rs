//! [`EngineLock`]: the protocol of the module docs over any [`LockStore`].

use crate::lock_info::LockInfoExt;
use std::cell::{RefCell, RefMut};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use super::{Cas, Clock, LockStore};
use crate::error::{Error, Result};
use crate::iso_time;
use crate::lock_info::LockInfo;
use crate::nonce;
use crate::rel_path::RelPath;
use crate::traits::Lock;
use swamp_datastore_types::{HolderIdentity, LockOptions};

/// How far an acquire's store operations may run past its max-wait. The
/// host stops `lock.acquire` soon after max-wait (its budget plus half its
/// grace, 5 s by default): the guest must give up first, with a clear
/// error, rather than be cut off as a trap.
pub const ACQUIRE_OVERRUN_MS: u64 = 2000;

/// The time an acquire that ran out of max-wait gives the read of the
/// holder it names.
pub const HOLDER_READ_MS: u64 = 2000;

/// A delete of this handle's lock that keeps finding it changed gives up
/// after this many reads.
const DELETE_ATTEMPTS: usize = 4;

/// A heartbeat refused while the lock is still this handle's (an earlier
/// write of its own landed late) tries again this many times in all.
const HEARTBEAT_ATTEMPTS: usize = 2;

/// What this handle holds.
#[derive(Debug, Clone)]
struct Held<V> {
    nonce: String,
    /// The version of the body this handle wrote last.
    version: V,
}

/// A stored lock, parsed.
struct Current<V> {
    info: Result<LockInfo>,
    version: V,
}

impl<V> Current<V> {
    fn carries(&self, nonce: &str) -> bool {
        matches!(&self.info, Ok(i) if i.nonce.as_deref() == Some(nonce))
    }
}

/// One lock key over store `S`: the whole of `wit/lock.wit`'s
/// `distributed-lock`. Reusable: acquire after release works.
pub struct EngineLock<S: LockStore> {
    /// In a cell because [`Lock::inspect`] reads through `&self`.
    store: RefCell<S>,
    key: RelPath,
    ttl_ms: u64,
    retry_ms: u64,
    max_wait_ms: u64,
    who: HolderIdentity,
    held: Option<Held<S::Version>>,
}

impl<S: LockStore> EngineLock<S> {
    /// A lock on `options.lock_key` (validated as a relative path, else
    /// `invalid-argument`) in `store`, written for `who`, with swamp's
    /// defaults for every option left out. No store operation.
    pub fn new(store: S, options: &LockOptions, who: HolderIdentity) -> Result<EngineLock<S>> {
        Ok(EngineLock {
            store: RefCell::new(store),
            key: RelPath::parse(options.key(), "lock key")?,
            ttl_ms: options.ttl(),
            retry_ms: options.retry_interval().max(1),
            max_wait_ms: options.max_wait(),
            who,
            held: None,
        })
    }

    /// Whether this handle holds the lock, as far as it knows (a takeover
    /// shows only at the next heartbeat).
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// The store.
    pub fn store_mut(&mut self) -> &mut S {
        self.store.get_mut()
    }

    fn store(&self) -> RefMut<'_, S> {
        self.store.borrow_mut()
    }

    fn describe(&self) -> String {
        self.store.borrow().describe(&self.key)
    }

    /// The stored lock, parsed; `None` when absent.
    fn read(&self) -> Result<Option<Current<S::Version>>> {
        let Some(stored) = self.store().read(&self.key)? else {
            return Ok(None);
        };
        Ok(Some(Current {
            info: LockInfo::parse(&stored.bytes, &self.describe()),
            version: stored.version,
        }))
    }

    /// Is the lease of `current` over, by the clock the store names?
    fn is_stale(&self, current: &Current<S::Version>) -> bool {
        let clock = self.store.borrow().clock();
        let age = || self.store().age_ms(&self.key, &current.version);
        match (clock, &current.info) {
            (Clock::Holder, Ok(info)) => info.is_stale(iso_time::now()),
            (Clock::Holder, Err(_)) => age().is_some_and(|a| a > self.ttl_ms),
            (Clock::Store { resolution_ms }, info) => {
                let ttl = match info {
                    Ok(i) => i.ttl_ms,
                    Err(_) => LockOptions::DEFAULT_TTL_MS,
                };
                // Saturating: a hostile body's ttlMs near u64::MAX must mean
                // "never stale", not wrap to a tiny lease and be stolen
                // (hostile/lock/ttl-max.json).
                age().is_some_and(|a| a > ttl.saturating_add(resolution_ms))
            }
        }
    }

    /// Sleep a random time within `range` (none for `0..=0`).
    fn pause_within(&self, range: &RangeInclusive<u64>) {
        let (low, high) = (*range.start(), *range.end());
        if high == 0 {
            return;
        }
        let spread = high.saturating_sub(low).saturating_add(1);
        let ms = low.saturating_add(nonce::random_below(spread));
        self.store().sleep(Duration::from_millis(ms));
    }

    /// Create the lock under `nonce`, retrying until max-wait; the version
    /// created.
    fn take(&self, nonce: &str, start: Instant) -> Result<S::Version> {
        let pacing = self.store.borrow().pacing();
        let mut pause_ms = self.retry_ms;
        let mut first = true;
        loop {
            let waited = elapsed_ms(start);
            // Checked from the second attempt on: an acquire always tries
            // once, however small max-wait is (swamp's packaged runtime
            // passes about 1 ms; checking first, no acquire ever succeeds).
            if !first && waited >= self.max_wait_ms {
                return Err(self.timeout(waited));
            }
            first = false;
            let body = LockInfo::new(&self.who, self.ttl_ms, nonce).to_json();
            let created = self.store().create(&self.key, body.as_bytes())?;
            match created {
                Cas::Done(version) => return Ok(version),
                Cas::Refused => {}
                // The create may have landed: only the nonce can tell.
                Cas::Unknown(_) => {
                    if let Some(c) = self.read()?
                        && c.carries(nonce)
                    {
                        return Ok(c.version);
                    }
                }
            }
            match self.read()? {
                // Released between the create and the read: again now.
                None => {
                    self.pause_within(&pacing.after_vanished_ms);
                    continue;
                }
                Some(c) if self.is_stale(&c) => {
                    // Only the version judged stale is deleted: a fresh
                    // successor's lock stays, and the next create fails.
                    let _ = self.store().delete(&self.key, &c.version)?;
                    self.pause_within(&pacing.after_takeover_ms);
                    continue;
                }
                Some(_) => {}
            }
            let remaining = self.max_wait_ms.saturating_sub(elapsed_ms(start));
            let ms = jitter(pause_ms).min(remaining).max(1);
            self.store().sleep(Duration::from_millis(ms));
            let cap = self.retry_ms.saturating_mul(pacing.backoff_cap.max(1));
            pause_ms = pause_ms.saturating_mul(2).min(cap);
        }
    }

    /// `lock-timeout` after `waited` ms, naming the holder when it can be
    /// read (quickly) and parsed.
    fn timeout(&self, waited: u64) -> Error {
        let end = Instant::now().checked_add(Duration::from_millis(HOLDER_READ_MS));
        self.store().set_deadline(end);
        let holder = self.read().ok().flatten().and_then(|c| c.info.ok());
        Error::LockTimeout {
            lock_key: self.key.to_string(),
            holder,
            waited_ms: waited,
        }
    }

    /// Delete the stored lock if it still carries `nonce`; `Ok(false)` when
    /// it is absent, unreadable or someone else's.
    fn delete_if_carrying(&self, nonce: &str) -> Result<bool> {
        // Set once a delete may have landed without an answer.
        let mut maybe_deleted = false;
        for _ in 0..DELETE_ATTEMPTS {
            let Some(c) = self.read()? else {
                return Ok(maybe_deleted);
            };
            if !c.carries(nonce) {
                return Ok(false);
            }
            let deleted = self.store().delete(&self.key, &c.version)?;
            match deleted {
                Cas::Done(()) => return Ok(true),
                // Changed between the read and the delete: look again.
                Cas::Refused => {}
                // It may be gone; the next read tells.
                Cas::Unknown(_) => maybe_deleted = true,
            }
        }
        Err(Error::Conflict(format!(
            "lock {} kept changing while it was being deleted",
            self.key
        )))
    }

    fn lost(&self, why: &str) -> Error {
        Error::LockLost(format!(
            "lock {} {why}; stop the work it protected",
            self.key
        ))
    }
}

impl<S: LockStore + 'static> Lock for EngineLock<S> {
    fn acquire(&mut self) -> Result<()> {
        if self.held.is_some() {
            return Err(Error::Conflict(format!(
                "lock {} is already held by this handle; release it first",
                self.key
            )));
        }
        let nonce = nonce::new_nonce();
        let start = Instant::now();
        // Every operation of this acquire ends with the wait (see
        // ACQUIRE_OVERRUN_MS).
        let budget = self.max_wait_ms.saturating_add(ACQUIRE_OVERRUN_MS);
        let end = start.checked_add(Duration::from_millis(budget));
        self.store_mut().set_deadline(end);
        let taken = self.take(&nonce, start);
        self.store_mut().set_deadline(None);
        self.held = Some(Held {
            nonce,
            version: taken?,
        });
        Ok(())
    }

    fn release(&mut self) -> Result<()> {
        let Some(held) = self.held.take() else {
            return Ok(()); // not held: nothing to do
        };
        let deleted = self.store().delete(&self.key, &held.version);
        let outcome = match deleted {
            Ok(Cas::Done(())) => Ok(()),
            // Not at the version we wrote (a successor's lock, a write of
            // ours we never heard back from, or gone), or no answer: delete
            // only while the stored nonce is ours.
            Ok(Cas::Refused | Cas::Unknown(_)) => self.delete_if_carrying(&held.nonce).map(|_| ()),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            // Still ours as far as we know: a retried release can clean up.
            self.held = Some(held);
        }
        outcome
    }

    fn inspect(&self) -> Result<Option<LockInfo>> {
        match self.read()? {
            None => Ok(None),
            Some(c) => c.info.map(Some),
        }
    }

    fn force_release(&mut self, expected_nonce: &str) -> Result<bool> {
        let deleted = self.delete_if_carrying(expected_nonce)?;
        if deleted
            && self
                .held
                .as_ref()
                .is_some_and(|h| h.nonce == expected_nonce)
        {
            self.held = None;
        }
        Ok(deleted)
    }

    fn heartbeat(&mut self) -> Result<()> {
        let Some(mut held) = self.held.clone() else {
            return Err(Error::LockLost(format!(
                "lock {} is not held by this handle",
                self.key
            )));
        };
        for _ in 0..HEARTBEAT_ATTEMPTS {
            let renewed = LockInfo::new(&self.who, self.ttl_ms, &held.nonce);
            let body = renewed.to_json();
            let replaced = self
                .store()
                .replace(&self.key, &held.version, body.as_bytes())?;
            let unanswered = match replaced {
                Cas::Done(version) => {
                    self.held = Some(Held {
                        nonce: held.nonce,
                        version,
                    });
                    return Ok(());
                }
                Cas::Refused => None,
                Cas::Unknown(e) => Some(e),
            };
            // Who holds it now? Only the nonce tells.
            let current = self.read()?;
            let lost = match current {
                None => self.lost("was deleted (force-released, or expired and removed)"),
                Some(Current { info: Err(_), .. }) => {
                    self.lost("was replaced by an unreadable lock")
                }
                Some(Current { info: Ok(i), .. })
                    if i.nonce.as_deref() != Some(held.nonce.as_str()) =>
                {
                    self.lost(&format!("was taken over by {} (pid {})", i.holder, i.pid))
                }
                Some(Current {
                    info: Ok(i),
                    version,
                }) => {
                    held.version = version;
                    self.held = Some(held.clone());
                    if i.acquired_at == renewed.acquired_at {
                        // Our write landed after all.
                        return Ok(());
                    }
                    if let Some(e) = unanswered {
                        // Still ours, not extended: the caller may retry.
                        return Err(e);
                    }
                    // Still ours under a version we did not know (an
                    // earlier write of ours landed late): again on it.
                    continue;
                }
            };
            self.held = None;
            return Err(lost);
        }
        Err(Error::Unavailable(format!(
            "heartbeat of lock {} did not settle; try again",
            self.key
        )))
    }

    fn lock_key(&self) -> String {
        self.key.to_string()
    }

    fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }
}

fn elapsed_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// `ms` ±25 %.
pub(super) fn jitter(ms: u64) -> u64 {
    (ms - ms / 4).saturating_add(nonce::random_below((ms / 2).saturating_add(1)))
}
