//! Test-only guest, broken on purpose: every control call works in the root's control prefix whatever namespace it names, so two namespaced serve instances overwrite each other's records.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn control_put(s: &mut SyncCx, _ns: Option<&str>, key: &str, data: &[u8]) -> Result<()> {
        s.store()?.control_put(None, key, data)
    }
    fn control_get(s: &mut SyncCx, _ns: Option<&str>, key: &str) -> Result<Option<Vec<u8>>> {
        s.store()?.control_get(None, key)
    }
    fn control_delete(s: &mut SyncCx, _ns: Option<&str>, key: &str) -> Result<()> {
        s.store()?.control_delete(None, key)
    }
    fn control_list(s: &mut SyncCx, _ns: Option<&str>, prefix: &str) -> Result<Vec<String>> {
        s.store()?.control_list(None, prefix)
    }
    fn control_put_if_absent(
        s: &mut SyncCx,
        _ns: Option<&str>,
        key: &str,
        data: &[u8],
    ) -> Result<bool> {
        s.store()?.control_put_if_absent(None, key, data)
    }
}

export_broken!(B);
