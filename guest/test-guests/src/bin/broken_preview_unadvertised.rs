//! Test-only guest, broken on purpose: preview-push works but is not advertised (an unadvertised call must be unsupported).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn capabilities(s: &SyncCx) -> SyncCapabilities {
        SyncCapabilities {
            preview_push: false,
            ..s.inner.capabilities()
        }
    }
}

export_broken!(B);
