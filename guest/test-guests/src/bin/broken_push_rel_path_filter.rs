//! Test-only guest, broken on purpose: push and pull given a rel-path use it as a filter (and find nothing under it).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        if o.rel_path.is_some() {
            return Ok(0);
        }
        s.inner.pull_changed(o)
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        if o.rel_path.is_some() {
            return Ok(0);
        }
        s.inner.push_changed(o)
    }
}

export_broken!(B);
