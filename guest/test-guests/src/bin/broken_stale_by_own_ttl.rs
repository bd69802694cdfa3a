//! Test-only guest, broken on purpose: acquire judges a held lock stale by its own TTL instead of the TTL the holder stored, and takes it over.
//! Everything else is fs-datastore.

use swamp_datastore_sdk::LockInfoExt;
use test_guests::prelude::*;

use std::time::{Duration, Instant};

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        if l.held.is_some() {
            return l.inner.acquire(); // fs-datastore's conflict
        }
        let start = Instant::now();
        let max_wait = Duration::from_millis(l.options.max_wait());
        let own_ttl = l.options.ttl();
        loop {
            match l.stored() {
                None => return l.inner.acquire(),
                Some(info) if info.age_ms(iso_time::now()) > own_ttl => {
                    l.delete();
                    return l.inner.acquire();
                }
                Some(info) => {
                    if start.elapsed() >= max_wait {
                        return Err(Error::LockTimeout {
                            lock_key: l.inner.lock_key(),
                            holder: Some(info),
                            waited_ms: start.elapsed().as_millis() as u64,
                        });
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(l.options.retry_interval().max(1)));
        }
    }
}

export_broken!(B);
