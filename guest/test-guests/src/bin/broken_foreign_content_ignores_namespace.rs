//! Test-only guest, broken on purpose: fetch-foreign-content reads the rel-path from the root of the store, not from the namespace it names.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn fetch_foreign_content(s: &mut SyncCx, _ns: &str, rel: &str) -> Result<Option<Vec<u8>>> {
        let rel = RelPath::parse(rel, "rel-path")?;
        Ok(std::fs::read(rel.under(&s.share)).ok())
    }
}

export_broken!(B);
