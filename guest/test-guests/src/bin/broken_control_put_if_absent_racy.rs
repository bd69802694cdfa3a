//! Test-only guest, broken on purpose: put-if-absent checks for the record, then writes it: two racers both see it absent and both answer true (a cron fire recorded twice).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn control_put_if_absent(
        s: &mut SyncCx,
        ns: Option<&str>,
        key: &str,
        data: &[u8],
    ) -> Result<bool> {
        if s.store()?.control_get(ns, key)?.is_some() {
            return Ok(false);
        }
        // The window between the check and the write, as a network round
        // trip would leave it.
        std::thread::sleep(std::time::Duration::from_millis(40));
        s.store()?.control_put(ns, key, data)?;
        Ok(true)
    }
}

export_broken!(B);
