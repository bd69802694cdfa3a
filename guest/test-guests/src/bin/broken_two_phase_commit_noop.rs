//! Test-only guest, broken on purpose: commit-push returns the counts but records nothing.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn commit_push(
        _s: &mut SyncCx,
        m: test_guests::sdk::PushManifest,
        _o: &SyncOptions,
    ) -> Result<u32> {
        Ok(m.pushed + m.deleted)
    }
}

export_broken!(B);
