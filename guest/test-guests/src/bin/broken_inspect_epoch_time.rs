//! Test-only guest, broken on purpose: inspect reports acquired-at as Unix milliseconds, not ISO-8601.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn inspect(l: &LockCx) -> Result<Option<LockInfo>> {
        Ok(l.inner.inspect()?.map(|mut i| {
            if let Some(t) = iso_time::parse(&i.acquired_at) {
                i.acquired_at = (t.unix_timestamp_nanos() / 1_000_000).to_string();
            }
            i
        }))
    }
}

export_broken!(B);
