//! Test-only guest, broken on purpose: pull keeps a local file whose size equals the remote one (compares sizes, not content).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let before = s.cache_files();
        let n = s.inner.pull_changed(o)?;
        for (rel, old) in before {
            let path = s.cache.join(&rel);
            if let Ok(now) = std::fs::read(&path)
                && now.len() == old.len()
                && now != old
            {
                let _ = std::fs::write(&path, old);
            }
        }
        Ok(n)
    }
}

export_broken!(B);
