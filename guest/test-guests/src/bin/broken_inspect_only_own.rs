//! Test-only guest, broken on purpose: inspect shows only the lock this handle holds, none when another handle holds it.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn inspect(l: &LockCx) -> Result<Option<LockInfo>> {
        if l.held.is_none() {
            return Ok(None);
        }
        l.inner.inspect()
    }
}

export_broken!(B);
