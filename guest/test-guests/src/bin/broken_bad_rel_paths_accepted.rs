//! Test-only guest, broken on purpose: mark-dirty accepts invalid rel-paths (absolute, `..`, NUL, backslash) silently.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        match s.inner.mark_dirty(o) {
            Err(Error::InvalidArgument(_)) => Ok(()),
            other => other,
        }
    }
}

export_broken!(B);
