//! Test-only guest, broken on purpose: a lock file that does not parse is deleted by the next acquire and shown by inspect as no lock.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

fn unparsable(l: &LockCx) -> bool {
    l.path.exists() && l.stored().is_none()
}

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        if unparsable(l) {
            l.delete();
        }
        l.inner.acquire()
    }
    fn inspect(l: &LockCx) -> Result<Option<LockInfo>> {
        if unparsable(l) {
            return Ok(None);
        }
        l.inner.inspect()
    }
}

export_broken!(B);
