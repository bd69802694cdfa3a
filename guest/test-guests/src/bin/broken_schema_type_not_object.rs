//! Test-only guest, broken on purpose: its config schema's `type` also allows `null`, so it does not describe an object.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn config_schema() -> String {
        let mut s: Value =
            serde_json::from_str(test_guests::fs_datastore_core::config::SCHEMA).unwrap();
        s["type"] = json!(["object", "null"]);
        s.to_string()
    }
}

export_broken!(B);
