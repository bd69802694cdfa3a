//! Test-only guest, broken on purpose: its config schema accepts anything: it is a draft-07 schema whose `$ref` to an empty definition makes validators ignore every sibling keyword (`required`, `properties`, `additionalProperties`).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn config_schema() -> String {
        let mut s: Value =
            serde_json::from_str(test_guests::fs_datastore_core::config::SCHEMA).unwrap();
        s["$schema"] = json!("http://json-schema.org/draft-07/schema#");
        s["$ref"] = json!("#/definitions/anything");
        s["definitions"] = json!({"anything": {}});
        s.to_string()
    }
}

export_broken!(B);
