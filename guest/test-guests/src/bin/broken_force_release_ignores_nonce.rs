//! Test-only guest, broken on purpose: force-release deletes the lock whatever its nonce.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn force_release(l: &mut LockCx, _expected_nonce: &str) -> Result<bool> {
        if l.stored().is_none() {
            return Ok(false);
        }
        l.delete();
        l.inner.release()?;
        Ok(true)
    }
}

export_broken!(B);
