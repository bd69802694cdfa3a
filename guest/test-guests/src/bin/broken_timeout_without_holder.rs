//! Test-only guest, broken on purpose: lock-timeout does not name the holder.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        match l.inner.acquire() {
            Err(Error::LockTimeout {
                lock_key,
                waited_ms,
                ..
            }) => Err(Error::LockTimeout {
                lock_key,
                holder: None,
                waited_ms,
            }),
            other => other,
        }
    }
}

export_broken!(B);
