//! Test-only guest, broken on purpose: register-namespace replaces an existing claim, so a second repository silently takes over a namespace another one holds.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn register_namespace(
        p: &ProviderCx,
        datastore_path: &str,
        namespace: &str,
        repo_id: &str,
    ) -> Result<()> {
        // fs-datastore keeps the claim in `{datastore}/{ns}/.namespace.json`.
        if RelPath::parse(namespace, "namespace").is_ok() {
            let claim = std::path::Path::new(datastore_path)
                .join(namespace)
                .join(".namespace.json");
            let _ = std::fs::remove_file(claim);
        }
        p.inner
            .register_namespace(datastore_path, namespace, repo_id)
    }
}

export_broken!(B);
