//! Test-only guest, broken on purpose: inspect on a handle that never acquired shows a lock of its own that does not exist.
//! Everything else is fs-datastore.

use swamp_datastore_sdk::LockInfoExt;
use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        l.memo = Some("used".into());
        l.inner.acquire()
    }
    fn inspect(l: &LockCx) -> Result<Option<LockInfo>> {
        if l.memo.is_none() {
            return Ok(Some(LockInfo::new(
                &l.who,
                l.inner.ttl_ms(),
                "not-acquired-yet",
            )));
        }
        l.inner.inspect()
    }
}

export_broken!(B);
