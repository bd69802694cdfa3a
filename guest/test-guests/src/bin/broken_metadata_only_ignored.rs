//! Test-only guest, broken on purpose: it advertises lazy-hydration but a metadata-only pull brings content too.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.pull_changed(&SyncOptions {
            metadata_only: false,
            ..o.clone()
        })
    }
}

export_broken!(B);
