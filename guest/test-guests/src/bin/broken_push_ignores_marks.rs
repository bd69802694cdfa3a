//! Test-only guest, broken on purpose: mark-dirty drops per-path marks (only bulk marks reach the engine).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        if let Some(rel) = &o.rel_path {
            RelPath::parse(rel, "rel-path")?; // still refused when invalid
            return Ok(());
        }
        s.inner.mark_dirty(o)
    }
}

export_broken!(B);
