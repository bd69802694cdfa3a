//! Test-only guest, broken on purpose: create-provider ignores unknown fields instead of rejecting them.
//! Everything else is fs-datastore.

use broken_common::prelude::*;

struct B;

impl Break for B {
    fn parse_config(config: &Value) -> Result<broken_common::fs_datastore_core::config::FsConfig> {
        let mut known = config.clone();
        if let Some(m) = known.as_object_mut() {
            m.retain(|k, _| k == "path" || k == "cache");
        }
        broken_common::fs_datastore_core::config::FsConfig::parse(&known)
    }
}

export_broken!(B);
