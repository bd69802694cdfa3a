//! Test-only guest, broken on purpose: a bulk mark-dirty is turned into a mark of every file the cache has now, so files deleted before it are never deleted remotely.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        if o.rel_path.is_some() {
            return s.inner.mark_dirty(o);
        }
        for (rel, _) in s.cache_files() {
            s.forward_mark(rel)?;
        }
        Ok(())
    }
}

export_broken!(B);
