//! Test-only guest, broken on purpose: every acquire of a handle stores the nonce of its first acquire.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        l.inner.acquire()?;
        let Some(mut info) = l.stored() else {
            return Ok(());
        };
        match &l.memo {
            None => l.memo = info.nonce.clone(),
            Some(first) => {
                info.nonce = Some(first.clone());
                l.write(&info)?;
            }
        }
        Ok(())
    }
    fn release(l: &mut LockCx) -> Result<()> {
        // The stored nonce is not the one fs-datastore generated: free it by
        // the reused nonce, then let the inner handle forget its own.
        if let Some(first) = l.memo.clone() {
            l.inner.force_release(&first)?;
        }
        l.inner.release()
    }
}

export_broken!(B);
