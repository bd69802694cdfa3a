//! Test-only guest, broken on purpose: create-lock replaces every `/` of the lock key with `_` to name the lock file (and still reports the key it was given), so data/aws/vpc_m1/.lock and data/aws_vpc/m1/.lock are one lock.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn create_lock(
        p: &ProviderCx,
        datastore_path: &str,
        options: LockOptions,
    ) -> Result<Box<dyn Lock>> {
        let flat = options.lock_key.as_ref().map(|k| k.replace('/', "_"));
        p.inner.create_lock(
            datastore_path,
            LockOptions {
                lock_key: flat,
                ..options
            },
        )
    }
    fn lock_key(l: &LockCx) -> String {
        l.options
            .lock_key
            .clone()
            .unwrap_or_else(|| l.inner.lock_key())
    }
}

export_broken!(B);
