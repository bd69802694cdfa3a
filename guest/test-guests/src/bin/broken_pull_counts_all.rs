//! Test-only guest, broken on purpose: pull returns the number of files in the cache, not the number downloaded.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        s.inner.pull_changed(o)?;
        Ok(s.cache_files().len() as u32)
    }
}

export_broken!(B);
