//! Test-only guest, broken on purpose: it advertises namespaced-sync but ignores the namespace.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.pull_changed(&SyncOptions {
            namespace: None,
            ..o.clone()
        })
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.push_changed(&SyncOptions {
            namespace: None,
            ..o.clone()
        })
    }
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        s.inner.mark_dirty(&SyncOptions {
            namespace: None,
            ..o.clone()
        })
    }
}

export_broken!(B);
