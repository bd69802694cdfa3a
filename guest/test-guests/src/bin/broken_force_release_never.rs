//! Test-only guest, broken on purpose: force-release never frees the lock, even with the holder's nonce.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn force_release(_l: &mut LockCx, _expected_nonce: &str) -> Result<bool> {
        Ok(false)
    }
}

export_broken!(B);
