//! Test-only guest, broken on purpose: acquire checks its deadline before its first attempt, so with max-wait 0 it never takes even a free lock.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

use std::time::{Duration, Instant};

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        let start = Instant::now();
        if start.elapsed() >= Duration::from_millis(l.options.max_wait()) {
            return Err(Error::LockTimeout {
                lock_key: l.inner.lock_key(),
                holder: l.stored(),
                waited_ms: 0,
            });
        }
        l.inner.acquire()
    }
}

export_broken!(B);
