//! Locks. The protocol (retries, stale takeover, fencing, fresh nonces) is
//! the SDK's lock engine, `swamp_datastore_sdk::lock_engine`; this file is
//! only its store: a lock file at `{datastore}/{key}` holding swamp's
//! LockInfo JSON, where swamp's own filesystem datastore keeps it.
//!
//! A directory has no compare-and-swap, so a lock's version is its exact
//! bytes, and the conditions are built from two atomic steps: a hard link
//! (puts a finished file in place only if none is there) and a rename (only
//! one of several movers gets the file).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use swamp_datastore_sdk::lock_engine::{Cas, EngineLock, LockStore, Pacing, Stored};
use swamp_datastore_sdk::{
    Error, LockInfo, LockOptions, RelPath, Result, atomic_file, host, iso_time,
};

/// A lock on `options.lock_key` below `datastore_path`. No I/O.
pub fn open(datastore_path: &str, options: &LockOptions) -> Result<EngineLock<LockDir>> {
    EngineLock::new(LockDir::new(datastore_path)?, options, host::identity())
}

/// A directory as the store of its lock files.
#[derive(Clone)]
pub struct LockDir {
    root: PathBuf,
}

impl LockDir {
    pub fn new(path: &str) -> Result<LockDir> {
        if !path.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "datastore path {path:?} must be absolute"
            )));
        }
        Ok(LockDir { root: path.into() })
    }

    fn path(&self, key: &RelPath) -> PathBuf {
        key.under(&self.root)
    }
}

/// Put the finished file `tmp` at `dest` only if nothing is there; `tmp`
/// is removed either way.
fn publish(tmp: &Path, dest: &Path) -> Result<bool> {
    let linked = fs::hard_link(tmp, dest);
    let _ = fs::remove_file(tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io(dest.display(), e)),
    }
}

/// Delete `path` only if it still holds `expected`: move it to a private
/// name, compare, and put it back (unless its place was taken meanwhile)
/// when it holds something else.
fn remove_if_same(path: &Path, expected: &[u8]) -> Result<bool> {
    let tomb = atomic_file::temp_path_for(path);
    match fs::rename(path, &tomb) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path.display(), e)),
    }
    let same = fs::read(&tomb).map_err(|e| Error::io(tomb.display(), e))? == expected;
    if !same {
        let _ = fs::hard_link(&tomb, path);
    }
    let _ = fs::remove_file(&tomb);
    Ok(same)
}

impl LockStore for LockDir {
    type Version = Vec<u8>;

    fn create(&mut self, key: &RelPath, bytes: &[u8]) -> Result<Cas<Vec<u8>>> {
        let path = self.path(key);
        let tmp = atomic_file::write_temp(&path, bytes)?;
        Ok(match publish(&tmp, &path)? {
            true => Cas::Done(bytes.to_vec()),
            false => Cas::Refused,
        })
    }

    fn read(&mut self, key: &RelPath) -> Result<Option<Stored<Vec<u8>>>> {
        let bytes = atomic_file::read_optional(&self.path(key))?;
        Ok(bytes.map(|bytes| Stored {
            version: bytes.clone(),
            bytes,
        }))
    }

    fn replace(&mut self, key: &RelPath, version: &Vec<u8>, bytes: &[u8]) -> Result<Cas<Vec<u8>>> {
        let path = self.path(key);
        if atomic_file::read_optional(&path)?.as_ref() != Some(version) {
            return Ok(Cas::Refused);
        }
        // In the first half of its lease nobody may take the lock over, so
        // a rename over the file is safe and the file never disappears.
        let early = LockInfo::parse(version, "lock")
            .is_ok_and(|info| info.age_ms(iso_time::now()).saturating_mul(2) <= info.ttl_ms);
        if early {
            atomic_file::write_atomic(&path, bytes)?;
            return Ok(Cas::Done(bytes.to_vec()));
        }
        // Later a contender may be taking it over right now: remove it only
        // if unchanged, then publish exclusively. The renewal may lose, but
        // two holders never coexist.
        let tmp = atomic_file::write_temp(&path, bytes)?;
        if !remove_if_same(&path, version)? {
            let _ = fs::remove_file(&tmp);
            return Ok(Cas::Refused);
        }
        Ok(match publish(&tmp, &path)? {
            true => Cas::Done(bytes.to_vec()),
            false => Cas::Refused,
        })
    }

    fn delete(&mut self, key: &RelPath, version: &Vec<u8>) -> Result<Cas<()>> {
        let path = self.path(key);
        // Look before moving: another holder's lock must never leave its
        // place, not even for a moment (see `LockStore`).
        if atomic_file::read_optional(&path)?.as_ref() != Some(version) {
            return Ok(Cas::Refused);
        }
        Ok(match remove_if_same(&path, version)? {
            true => Cas::Done(()),
            false => Cas::Refused,
        })
    }

    fn describe(&self, key: &RelPath) -> String {
        self.path(key).display().to_string()
    }

    /// A file that does not parse ages by its mtime: once older than a
    /// lease, its writer is gone.
    fn age_ms(&mut self, key: &RelPath, _version: &Vec<u8>) -> Option<u64> {
        let modified = fs::metadata(self.path(key)).ok()?.modified().ok()?;
        let age = SystemTime::now().duration_since(modified).ok()?;
        Some(age.as_millis() as u64)
    }

    fn pacing(&self) -> Pacing {
        Pacing::LOCAL
    }
}
