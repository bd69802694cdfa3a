//! Test-only guest, broken on purpose: acquire on a handle that already holds the lock succeeds instead of failing with conflict.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        if l.held.is_some() {
            return Ok(());
        }
        l.inner.acquire()
    }
}

export_broken!(B);
