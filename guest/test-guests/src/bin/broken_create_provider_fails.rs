//! Test-only guest, broken on purpose: create-provider refuses every config, valid or not.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn parse_config(_config: &Value) -> Result<test_guests::fs_datastore_core::config::FsConfig> {
        Err(Error::invalid_config(
            "",
            "this datastore accepts no config",
        ))
    }
}

export_broken!(B);
