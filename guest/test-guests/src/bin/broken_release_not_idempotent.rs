//! Test-only guest, broken on purpose: release fails with not-found on a handle that holds nothing.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn release(l: &mut LockCx) -> Result<()> {
        if l.held.is_none() {
            return Err(Error::NotFound("this handle holds no lock".into()));
        }
        l.inner.release()
    }
}

export_broken!(B);
