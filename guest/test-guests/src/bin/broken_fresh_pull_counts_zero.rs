//! Test-only guest, broken on purpose: a pull into an empty cache returns 0 (it counts only files it replaced).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let fresh = s.cache_files().is_empty();
        let n = s.inner.pull_changed(o)?;
        Ok(if fresh { 0 } else { n })
    }
}

export_broken!(B);
