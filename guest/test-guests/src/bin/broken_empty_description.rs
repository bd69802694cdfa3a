//! Test-only guest, broken on purpose: its description is empty.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn description() -> String {
        String::new()
    }
}

export_broken!(B);
