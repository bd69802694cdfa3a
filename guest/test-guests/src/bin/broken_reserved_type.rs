//! Test-only guest, broken on purpose: its type uses the reserved collective `swamp`.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn datastore_type() -> String {
        "@swamp/fs-datastore".into()
    }
}

export_broken!(B);
