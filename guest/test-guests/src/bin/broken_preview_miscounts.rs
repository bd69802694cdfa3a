//! Test-only guest, broken on purpose: preview-push counts deletions as changed files.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn preview_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushPreview> {
        let mut p = s.inner.preview_push(o)?;
        p.changed += p.deleted;
        p.deleted = 0;
        Ok(p)
    }
}

export_broken!(B);
