//! Test-only guest, broken on purpose: pull replaces every local file that differs from the remote copy, unpushed edits included.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let n = s.inner.pull_changed(o)?;
        for (rel, here) in s.cache_files() {
            if let Ok(there) = std::fs::read(s.share.join(&rel))
                && there != here
            {
                let _ = std::fs::write(s.cache.join(&rel), there);
            }
        }
        Ok(n)
    }
}

export_broken!(B);
