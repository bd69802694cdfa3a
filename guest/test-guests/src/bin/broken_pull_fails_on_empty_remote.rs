//! Test-only guest, broken on purpose: pull fails with not-found when nothing was ever pushed, instead of returning 0.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        let root = match &o.namespace {
            Some(ns) => s.share.join(ns),
            None => s.share.clone(),
        };
        if !root.join(INDEX_FILE).exists() {
            return Err(Error::NotFound(format!("no index in {}", root.display())));
        }
        s.inner.pull_changed(o)
    }
}

export_broken!(B);
