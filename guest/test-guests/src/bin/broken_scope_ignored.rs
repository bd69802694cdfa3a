//! Test-only guest, broken on purpose: it advertises scoped-sync but ignores the context models.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.pull_changed(&SyncOptions {
            context: None,
            ..o.clone()
        })
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.push_changed(&SyncOptions {
            context: None,
            ..o.clone()
        })
    }
}

export_broken!(B);
