//! Two filesystem primitives that make lock files safe without
//! compare-and-swap support from the filesystem:
//!
//! * [`publish_exclusive`] puts a fully written file at a path only if
//!   nothing is there (hard link: atomic and exclusive), so nobody ever
//!   reads a half-written lock.
//! * [`remove_if_same`] deletes a file only if it still holds the bytes the
//!   caller judged (rename to a private name first — only one renamer can
//!   win — then compare, and put it back on a mismatch), so a stale-lock
//!   takeover or a release never deletes a successor's fresh lock.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::Path;

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::write_file::WriteFile;

/// Publish the finished temporary file `tmp` at `dest` unless `dest`
/// exists. Returns whether it was published; `tmp` is always removed.
pub fn publish_exclusive(tmp: &Path, dest: &Path, bytes: &[u8]) -> Result<bool> {
    let linked = fs::hard_link(tmp, dest);
    let _ = fs::remove_file(tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        // Some filesystems (and sandboxes) have no hard links. Fall back to
        // an exclusive create and write: still exclusive, but a reader may
        // briefly see a partial body, which reads as a corrupt lock and is
        // treated as held — safe, only slower to resolve.
        Err(_) => create_new_with(dest, bytes),
    }
}

/// Create `dest` exclusively and write `bytes` into it.
pub fn create_new_with(dest: &Path, bytes: &[u8]) -> Result<bool> {
    match WriteFile::create_new(dest) {
        Ok(mut f) => {
            f.write_all(bytes)
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::io(dest.display(), e))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io(dest.display(), e)),
    }
}

/// Delete `path` only if it still holds exactly `expected`. Returns whether
/// it was deleted (false: absent, or someone else's content, left in place).
pub fn remove_if_same(path: &Path, expected: &[u8]) -> Result<bool> {
    let tomb = atomic_file::temp_path_for(path);
    match fs::rename(path, &tomb) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path.display(), e)),
    }
    let got = fs::read(&tomb).map_err(|e| Error::io(tomb.display(), e))?;
    if got == expected {
        let _ = fs::remove_file(&tomb);
        return Ok(true);
    }
    restore(&tomb, path);
    Ok(false)
}

/// Put a file taken by mistake back, unless its place was taken meanwhile
/// (then its owner's next heartbeat reports the loss).
fn restore(tomb: &Path, path: &Path) {
    match fs::hard_link(tomb, path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(_) => {
            if !path.exists() {
                let _ = fs::rename(tomb, path);
            }
        }
    }
    let _ = fs::remove_file(tomb);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_is_exclusive_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("lock");
        let t1 = atomic_file::write_temp(&dest, b"one").unwrap();
        assert!(publish_exclusive(&t1, &dest, b"one").unwrap());
        let t2 = atomic_file::write_temp(&dest, b"two").unwrap();
        assert!(!publish_exclusive(&t2, &dest, b"two").unwrap());
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        assert!(!create_new_with(&dest, b"three").unwrap());
    }

    #[test]
    fn remove_only_the_content_judged() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        fs::write(&p, b"fresh").unwrap();
        assert!(!remove_if_same(&p, b"stale").unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"fresh");
        assert!(remove_if_same(&p, b"fresh").unwrap());
        assert!(!p.exists());
        assert!(!remove_if_same(&p, b"fresh").unwrap());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
