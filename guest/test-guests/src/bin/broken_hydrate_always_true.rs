//! Test-only guest, broken on purpose: hydrate-file returns true even for a file the remote does not have.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn hydrate_file(s: &mut SyncCx, rel: &str, o: &SyncOptions) -> Result<bool> {
        s.inner.hydrate_file(rel, o).map(|_| true)
    }
}

export_broken!(B);
