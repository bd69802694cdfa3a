//! Test-only guest, broken on purpose: heartbeat rewrites the lock file even when the stored nonce is not its own.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn heartbeat(l: &mut LockCx) -> Result<()> {
        let Some(mut info) = l.held.clone() else {
            return l.inner.heartbeat();
        };
        info.acquired_at = iso_time::now_millis();
        l.write(&info)
    }
}

export_broken!(B);
