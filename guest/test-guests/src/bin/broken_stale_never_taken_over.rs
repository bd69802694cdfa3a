//! Test-only guest, broken on purpose: acquire waits for any existing lock to disappear, never taking over an expired one.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn acquire(l: &mut LockCx) -> Result<()> {
        if l.held.is_some() {
            return l.inner.acquire(); // conflict, as before
        }
        let start = std::time::Instant::now();
        while let Some(holder) = l.stored() {
            let waited_ms = start.elapsed().as_millis() as u64;
            if waited_ms >= l.options.max_wait() {
                return Err(Error::LockTimeout {
                    lock_key: l.inner.lock_key(),
                    holder: Some(holder),
                    waited_ms,
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(
                l.options.retry_interval().max(1),
            ));
        }
        l.inner.acquire()
    }
}

export_broken!(B);
