//! Test-only guest, broken on purpose: capabilities change from one call to the next.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn capabilities(s: &SyncCx) -> SyncCapabilities {
        s.calls.set(s.calls.get() + 1);
        let mut c = s.inner.capabilities();
        c.preview_push = s.calls.get() % 2 == 1;
        c
    }
}

export_broken!(B);
