//! Test-only guest, broken on purpose: heartbeat checks ownership but does not extend the lease.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn heartbeat(l: &mut LockCx) -> Result<()> {
        let ours = l.held.as_ref().and_then(|h| h.nonce.clone());
        match l.stored() {
            Some(s) if ours.is_some() && s.nonce == ours => Ok(()),
            _ => Err(Error::LockLost("the lock is not ours".into())),
        }
    }
}

export_broken!(B);
