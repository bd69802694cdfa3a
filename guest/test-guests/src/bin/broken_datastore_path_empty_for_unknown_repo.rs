//! Test-only guest, broken on purpose: resolve-datastore-path returns "" for a repository directory it cannot see.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn resolve_datastore_path(p: &ProviderCx, repo_dir: &str) -> Result<String> {
        if std::fs::metadata(repo_dir).is_err() {
            return Ok(String::new());
        }
        p.inner.resolve_datastore_path(repo_dir)
    }
}

export_broken!(B);
