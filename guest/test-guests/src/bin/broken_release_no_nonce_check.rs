//! Test-only guest, broken on purpose: release deletes the lock file without checking that it still holds its nonce.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn release(l: &mut LockCx) -> Result<()> {
        if l.held.is_some() {
            l.delete();
        }
        l.inner.release()
    }
}

export_broken!(B);
