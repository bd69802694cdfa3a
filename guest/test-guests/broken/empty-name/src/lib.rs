//! Test-only guest, broken on purpose: its name is empty.
//! Everything else is fs-datastore.

#![allow(clippy::result_large_err)]

use broken_common::prelude::*;

struct B;

impl Break for B {
    fn name() -> String {
        String::new()
    }
}

export_broken!(B);
