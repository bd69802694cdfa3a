//! Test-only guest, broken on purpose: its name is empty.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn name() -> String {
        String::new()
    }
}

export_broken!(B);
