//! Test-only guest, broken on purpose: push and pull ignore timeout-ms and run until they are done (or the host stops them).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

fn untimed(o: &SyncOptions) -> SyncOptions {
    SyncOptions {
        timeout_ms: None,
        ..o.clone()
    }
}

impl Break for B {
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.push_changed(&untimed(o))
    }
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.pull_changed(&untimed(o))
    }
}

export_broken!(B);
