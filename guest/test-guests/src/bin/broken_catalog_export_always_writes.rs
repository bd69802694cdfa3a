//! Test-only guest, broken on purpose: export-catalog writes the export on every call, even when the rows are unchanged (a write per push for nothing).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn export_catalog(s: &mut SyncCx, ns: &str, rows_json: &str) -> Result<bool> {
        let path = s.share.join(ns).join(".catalog-export.json");
        let _ = std::fs::remove_file(&path);
        s.store()?.export_catalog(ns, rows_json)
    }
}

export_broken!(B);
