//! Test-only guest, broken on purpose: control records are files joined to the control directory without checking the key, so `../x` writes beside the control records and an absolute key is tried as an absolute path.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

impl Break for B {
    fn control_put(s: &mut SyncCx, ns: Option<&str>, key: &str, data: &[u8]) -> Result<()> {
        let path = s.control_file(ns, key);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(&path, data).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))
    }
    fn control_get(s: &mut SyncCx, ns: Option<&str>, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(std::fs::read(s.control_file(ns, key)).ok())
    }
    fn control_delete(s: &mut SyncCx, ns: Option<&str>, key: &str) -> Result<()> {
        let _ = std::fs::remove_file(s.control_file(ns, key));
        Ok(())
    }
}

export_broken!(B);
