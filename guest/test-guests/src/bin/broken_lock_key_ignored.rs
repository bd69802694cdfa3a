//! Test-only guest, broken on purpose: create-lock ignores the lock key: every lock is the global one.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn create_lock(
        p: &ProviderCx,
        path: &str,
        mut options: LockOptions,
    ) -> Result<Box<dyn test_guests::sdk::Lock>> {
        options.lock_key = None;
        p.inner.create_lock(path, options)
    }
}

export_broken!(B);
