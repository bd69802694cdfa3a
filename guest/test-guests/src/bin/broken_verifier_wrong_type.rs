//! Test-only guest, broken on purpose: verify reports another datastore type than the component's.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn verify(v: &dyn test_guests::sdk::Verifier) -> Result<HealthResult> {
        let mut r = v.verify()?;
        r.datastore_type = "@swamp-wasm/other-datastore".into();
        Ok(r)
    }
}

export_broken!(B);
