//! Test-only guest, broken on purpose: verify leaves a probe file in the datastore.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn verify(v: &dyn test_guests::sdk::Verifier) -> Result<HealthResult> {
        let r = v.verify()?;
        if r.healthy
            && let Some((_, dir)) = r.details.iter().find(|(k, _)| k == "path")
        {
            let _ = std::fs::write(
                std::path::Path::new(dir).join(".swamp-health-check-left"),
                "x",
            );
        }
        Ok(r)
    }
}

export_broken!(B);
