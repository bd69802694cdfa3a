//! Test-only guest, broken on purpose: hydrate-file writes the new content into the existing file in place.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn hydrate_file(s: &mut SyncCx, rel: &str, o: &SyncOptions) -> Result<bool> {
        use std::io::Write;
        let path = s.cache.join(rel);
        let old = std::fs::OpenOptions::new().write(true).open(&path).ok();
        let got = s.inner.hydrate_file(rel, o)?;
        if let (true, Some(mut f), Ok(new)) = (got, old, std::fs::read(&path)) {
            let _ = f.set_len(0).and_then(|_| f.write_all(&new));
        }
        Ok(got)
    }
}

export_broken!(B);
