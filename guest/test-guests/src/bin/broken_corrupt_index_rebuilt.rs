//! Test-only guest, broken on purpose: a pull that finds the remote index corrupt deletes it and rebuilds it from a listing, so whatever history and hashes it held are thrown away instead of being reported as corrupt-data for an operator.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        match s.inner.pull_changed(o) {
            Err(Error::CorruptData(_)) => {
                // "Self-healing": start the index afresh.
                for rel in [INDEX_FILE, "_index/_meta.json"] {
                    let _ = std::fs::remove_file(s.share.join(rel));
                }
                if let Ok(entries) = std::fs::read_dir(s.share.join("_index")) {
                    for e in entries.flatten() {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
                s.inner.pull_changed(o)
            }
            other => other,
        }
    }
}

export_broken!(B);
