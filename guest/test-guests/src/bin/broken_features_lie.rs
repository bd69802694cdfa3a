//! Test-only guest, broken on purpose: its features advertise sync although it has no sync service without a cache.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn features(p: &ProviderCx) -> test_guests::sdk::ProviderFeatures {
        let mut f = p.inner.features();
        f.sync = true;
        f
    }
}

export_broken!(B);
