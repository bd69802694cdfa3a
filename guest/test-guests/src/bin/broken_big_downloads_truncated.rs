//! Test-only guest, broken on purpose: a downloaded file keeps only its first MiB, as a read loop that stops after its first buffer would leave it.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

const KEPT: u64 = 1024 * 1024;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let n = s.inner.pull_changed(o)?;
        for (rel, bytes) in s.cache_files() {
            if bytes.len() as u64 > KEPT
                && let Ok(f) = std::fs::OpenOptions::new()
                    .write(true)
                    .open(s.cache.join(&rel))
            {
                let _ = f.set_len(KEPT);
            }
        }
        Ok(n)
    }
}

export_broken!(B);
