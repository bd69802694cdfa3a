//! Test-only guest, broken on purpose: force-release deletes an expired lock whatever nonce it is given.
//! Everything else is fs-datastore.

use swamp_datastore_sdk::LockInfoExt;
use test_guests::prelude::*;

struct B;

impl Break for B {
    fn force_release(l: &mut LockCx, expected_nonce: &str) -> Result<bool> {
        if let Some(info) = l.stored()
            && info.is_stale(iso_time::now())
        {
            l.delete();
            return Ok(true);
        }
        l.inner.force_release(expected_nonce)
    }
}

export_broken!(B);
