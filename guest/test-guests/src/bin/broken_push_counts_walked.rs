//! Test-only guest, broken on purpose: after a bulk mark, push returns the number of files it walked, not uploaded.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        s.flag |= o.rel_path.is_none();
        s.inner.mark_dirty(o)
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let n = s.inner.push_changed(o)?;
        if std::mem::take(&mut s.flag) {
            return Ok(s.cache_files().len() as u32);
        }
        Ok(n)
    }
}

export_broken!(B);
