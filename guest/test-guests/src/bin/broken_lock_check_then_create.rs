//! Test-only guest, broken on purpose: acquire looks for a lock file and, finding none, writes its own (a check, then a create that is not exclusive): two contenders that look at the same moment both hold the lock.
//! Everything else is fs-datastore, or done as carefully as fs-datastore
//! does it (refusing a double acquire, taking over only stale locks, never
//! touching a lock it cannot parse, fenced heartbeats), so that only the
//! race shows.

use std::time::{Duration, Instant};
use swamp_datastore_sdk::LockInfoExt;
use test_guests::prelude::*;
use test_guests::sdk::{atomic_file, nonce};

struct B;

/// Whether the lock file may be taken: absent, or parsed and past its TTL.
fn free(l: &LockCx) -> Result<bool> {
    let Some(bytes) = atomic_file::read_optional(&l.path)? else {
        return Ok(true);
    };
    let Ok(held) = LockInfo::parse(&bytes, "lock") else {
        return Ok(false); // unreadable: held, as the contract says
    };
    Ok(iso_time::parse(&held.acquired_at)
        .is_some_and(|at| iso_time::millis_between(at, iso_time::now()) > held.ttl_ms))
}

fn ours(l: &LockCx) -> bool {
    l.memo.is_some() && l.stored().and_then(|s| s.nonce) == l.memo
}

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        if l.memo.is_some() {
            return Err(Error::Conflict("this handle already holds the lock".into()));
        }
        let started = Instant::now();
        let max_wait = Duration::from_millis(l.options.max_wait());
        loop {
            if free(l)? {
                // The fault: between the look above and this write, another
                // contender may have looked too.
                let info = LockInfo::new(&l.who, l.options.ttl(), &nonce::new_nonce());
                l.write(&info)?;
                l.memo = info.nonce.clone();
                return Ok(());
            }
            if started.elapsed() >= max_wait {
                return Err(Error::LockTimeout {
                    lock_key: l.options.key().to_string(),
                    holder: l.stored(),
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            std::thread::sleep(Duration::from_millis(l.options.retry_interval()));
        }
    }
    fn release(l: &mut LockCx) -> Result<()> {
        if ours(l) {
            l.delete();
        }
        l.memo = None;
        Ok(())
    }
    fn heartbeat(l: &mut LockCx) -> Result<()> {
        if !ours(l) {
            return Err(Error::LockLost(
                "the lock is no longer this handle's".into(),
            ));
        }
        let mut info = l
            .stored()
            .ok_or_else(|| Error::LockLost("the lock is gone".into()))?;
        info.acquired_at = iso_time::now_millis();
        l.write(&info)
    }
}

export_broken!(B);
