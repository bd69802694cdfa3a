//! Test-only guest, broken on purpose: mark-dirty drops rel-paths deeper than six segments.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        if o.rel_path
            .as_deref()
            .is_some_and(|r| r.split('/').count() > 6)
        {
            return Ok(());
        }
        s.inner.mark_dirty(o)
    }
}

export_broken!(B);
