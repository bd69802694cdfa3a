//! Test-only guest, broken on purpose: create-provider requires the optional `cache` field, which the schema does not.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn parse_config(config: &Value) -> Result<test_guests::fs_datastore_core::config::FsConfig> {
        if config.get("cache").is_none() {
            return Err(Error::invalid_config("/cache", "'cache' is required"));
        }
        test_guests::fs_datastore_core::config::FsConfig::parse(config)
    }
}

export_broken!(B);
