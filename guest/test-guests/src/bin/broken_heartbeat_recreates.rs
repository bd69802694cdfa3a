//! Test-only guest, broken on purpose: a heartbeat that finds its lock gone (force-released) writes it back instead of failing with lock-lost.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn heartbeat(l: &mut LockCx) -> Result<()> {
        if l.stored().is_none()
            && let Some(mut info) = l.held.clone()
        {
            info.acquired_at = iso_time::now_millis();
            return l.write(&info);
        }
        l.inner.heartbeat()
    }
}

export_broken!(B);
