//! Test-only guest, broken on purpose: after a pull, the cache mirrors the remote: local files the remote does not have are deleted (unpushed new files are lost).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let n = s.inner.pull_changed(o)?;
        for (rel, _) in s.cache_files() {
            if !s.share.join(&rel).exists() {
                let _ = std::fs::remove_file(s.cache.join(&rel));
            }
        }
        Ok(n)
    }
}

export_broken!(B);
