//! Test-only guest, broken on purpose: push returns the files uploaded but not the remote deletions.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let deleted = s.inner.preview_push(o)?.deleted;
        Ok(s.inner.push_changed(o)?.saturating_sub(deleted))
    }
}

export_broken!(B);
