//! Test-only guest, broken on purpose: control-list returns the keys with the control prefix still on them (`_control/...`), so swamp cannot get or delete what it listed.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn control_list(s: &mut SyncCx, ns: Option<&str>, prefix: &str) -> Result<Vec<String>> {
        let base = match ns {
            Some(n) => format!("{n}/_control/"),
            None => "_control/".to_string(),
        };
        let keys = s.store()?.control_list(ns, prefix)?;
        Ok(keys.into_iter().map(|k| format!("{base}{k}")).collect())
    }
}

export_broken!(B);
