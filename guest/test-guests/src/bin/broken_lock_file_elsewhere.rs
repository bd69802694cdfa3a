//! Test-only guest, broken on purpose: lock files live under {datastore}/.wasm-locks/ instead of where swamp's own filesystem lock puts them, so the two never exclude each other.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn create_lock(
        p: &ProviderCx,
        datastore_path: &str,
        options: LockOptions,
    ) -> Result<Box<dyn Lock>> {
        let key = options
            .lock_key
            .clone()
            .unwrap_or_else(|| ".datastore.lock".into());
        p.inner.create_lock(
            datastore_path,
            LockOptions {
                lock_key: Some(format!(".wasm-locks/{key}")),
                ..options
            },
        )
    }
    fn lock_key(l: &LockCx) -> String {
        l.inner
            .lock_key()
            .trim_start_matches(".wasm-locks/")
            .to_string()
    }
}

export_broken!(B);
