//! Test-only guest, broken on purpose: a handle cannot acquire again after its first release.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        if l.memo.replace("used".into()).is_some() {
            return Err(Error::Conflict("this handle was already used".into()));
        }
        l.inner.acquire()
    }
}

export_broken!(B);
