//! Test-only guest, broken on purpose: verify always reports healthy.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn verify(v: &dyn test_guests::sdk::Verifier) -> Result<HealthResult> {
        let mut r = v.verify()?;
        r.healthy = true;
        Ok(r)
    }
}

export_broken!(B);
