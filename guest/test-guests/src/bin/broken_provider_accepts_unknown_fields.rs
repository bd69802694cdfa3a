//! Test-only guest, broken on purpose: create-provider ignores unknown fields instead of rejecting them.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn parse_config(config: &Value) -> Result<test_guests::fs_datastore_core::config::FsConfig> {
        let mut known = config.clone();
        if let Some(m) = known.as_object_mut() {
            m.retain(|k, _| k == "path" || k == "cache");
        }
        test_guests::fs_datastore_core::config::FsConfig::parse(&known)
    }
}

export_broken!(B);
