//! Test-only guest, broken on purpose: a dry run of repair-namespace-contamination deletes the foreign objects too, and reports that it deleted none.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn repair_namespace_contamination(
        s: &mut SyncCx,
        ns: Option<&str>,
        dry_run: bool,
    ) -> Result<ContaminationSummary> {
        let mut summary = s.store()?.repair_namespace_contamination(ns, false)?;
        if dry_run {
            summary.deleted = 0;
        }
        Ok(summary)
    }
}

export_broken!(B);
