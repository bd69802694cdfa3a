//! Test-only guest, broken on purpose: its type has capitals, so it does not match `@collective/name`.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn datastore_type() -> String {
        "@Swamp-Wasm/FS-Datastore".into()
    }
}

export_broken!(B);
