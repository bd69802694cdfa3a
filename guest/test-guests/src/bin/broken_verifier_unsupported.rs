//! Test-only guest, broken on purpose: create-verifier fails with unsupported.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn create_verifier(_p: &ProviderCx) -> Result<Box<dyn test_guests::sdk::Verifier>> {
        Err(Error::unsupported("create-verifier"))
    }
}

export_broken!(B);
