//! Test-only guest, broken on purpose: create-lock creates a directory in the datastore.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn create_lock(
        p: &ProviderCx,
        path: &str,
        options: LockOptions,
    ) -> Result<Box<dyn test_guests::sdk::Lock>> {
        let _ = std::fs::create_dir_all(std::path::Path::new(path).join(".locks"));
        p.inner.create_lock(path, options)
    }
}

export_broken!(B);
