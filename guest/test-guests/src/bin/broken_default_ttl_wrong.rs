//! Test-only guest, broken on purpose: a lock made with default options has a 60 s TTL instead of swamp's 30 s.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn create_lock(
        p: &ProviderCx,
        path: &str,
        mut options: LockOptions,
    ) -> Result<Box<dyn test_guests::sdk::Lock>> {
        options.ttl_ms = options.ttl_ms.or(Some(60_000));
        p.inner.create_lock(path, options)
    }
}

export_broken!(B);
