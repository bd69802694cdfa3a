//! Test-only guest, broken on purpose: pull-foreign-catalogs fails when one namespace's export is malformed instead of leaving it out, so one broken export hides every other namespace's catalog.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn pull_foreign_catalogs(s: &mut SyncCx, namespaces: &[String]) -> Result<Vec<CatalogExport>> {
        for ns in namespaces {
            let path = s.share.join(ns).join(".catalog-export.json");
            if let Ok(bytes) = std::fs::read(&path)
                && !matches!(serde_json::from_slice::<Value>(&bytes), Ok(Value::Array(_)))
            {
                return Err(Error::CorruptData(format!(
                    "{} is not a JSON array",
                    path.display()
                )));
            }
        }
        s.store()?.pull_foreign_catalogs(namespaces)
    }
}

export_broken!(B);
