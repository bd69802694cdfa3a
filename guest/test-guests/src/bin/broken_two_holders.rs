//! Test-only guest, broken on purpose: acquire overwrites another holder's lock instead of creating it exclusively.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        let ours = l.held.as_ref().and_then(|h| h.nonce.clone());
        if l.stored().and_then(|s| s.nonce) != ours {
            l.delete();
        }
        l.inner.acquire()
    }
}

export_broken!(B);
