//! Crash-safe local writes: a reader sees the old file or the new one,
//! never half of either. Temporary files carry a distinctive suffix so
//! walkers can skip ones a crash left behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::nonce;
use crate::write_file::WriteFile;

/// Suffix of every temporary file this crate writes.
pub const TMP_SUFFIX: &str = ".swamp-tmp";

/// True for a file name this crate used as a temporary file.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TMP_SUFFIX)
}

/// A fresh temporary path beside `dest` (same directory, so a rename is
/// atomic).
pub fn temp_path_for(dest: &Path) -> PathBuf {
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    dest.with_file_name(format!(".{name}.{}{TMP_SUFFIX}", nonce::new_nonce()))
}

/// Create `dir` and its missing parents, tolerating other writers doing
/// the same at the same moment. `fs::create_dir_all` alone lost that race
/// inside a component: with three caches pushing into one share at once
/// (conformance check `sync.concurrent-writers`), a push failed with
/// "File exists" on a directory another writer had just created. A few
/// retries, then whatever the directory is, is the answer.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    let mut last = None;
    for attempt in 0..5u64 {
        match fs::create_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(_) if dir.is_dir() => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotFound
                ) =>
            {
                last = Some(e);
                std::thread::sleep(std::time::Duration::from_millis(1 + attempt * 2));
            }
            Err(e) => return Err(Error::io(dir.display(), e)),
        }
    }
    match last {
        Some(e) => Err(Error::io(dir.display(), e)),
        None => Ok(()),
    }
}

/// Create a new temporary file beside `dest` (see [`temp_path_for`]),
/// creating missing parent directories. Another writer may remove an empty
/// parent between our `mkdir` and our create (stores prune directories a
/// deletion emptied), so a create that finds no directory starts again.
pub fn create_temp_beside(dest: &Path) -> Result<(PathBuf, WriteFile)> {
    let mut attempt = 0u64;
    loop {
        if let Some(parent) = dest.parent() {
            create_dir_all(parent)?;
        }
        let tmp = temp_path_for(dest);
        match WriteFile::create_new(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 5 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(attempt));
            }
            Err(e) => return Err(Error::io(tmp.display(), e)),
        }
    }
}

/// Whether a write waits for the disk before it returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Synced,
    Unsynced,
}

/// Write `bytes` to a new temporary file beside `dest` and return its path;
/// a failed write removes the temporary file.
fn write_temp_with(dest: &Path, bytes: &[u8], durability: Durability) -> Result<PathBuf> {
    let (tmp, mut f) = create_temp_beside(dest)?;
    let res = (|| {
        f.write_all(bytes)?;
        if durability == Durability::Synced {
            f.sync_all()?;
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(tmp.display(), e));
    }
    Ok(tmp)
}

/// Move the temporary file `tmp` over `dest`; a failed rename removes it.
pub fn rename_over(tmp: &Path, dest: &Path) -> Result<()> {
    fs::rename(tmp, dest).map_err(|e| {
        let _ = fs::remove_file(tmp);
        Error::io(dest.display(), e)
    })
}

/// Write `bytes` to a new temporary file beside `dest`, flushed to disk.
/// Creates missing parent directories. Returns the temporary path.
pub fn write_temp(dest: &Path, bytes: &[u8]) -> Result<PathBuf> {
    write_temp_with(dest, bytes, Durability::Synced)
}

/// Replace `dest` with `bytes` atomically: temporary file, fsync, rename.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    rename_over(&write_temp(dest, bytes)?, dest)
}

/// Replace `dest` with `bytes` atomically (temporary file and rename)
/// without waiting for the disk: for a file that is only a cache, where
/// losing the new content to a power failure (the old file, or an empty
/// one, after the restart) is harmless. A killed process still leaves the
/// old file or the new one.
pub fn write_atomic_unsynced(dest: &Path, bytes: &[u8]) -> Result<()> {
    rename_over(&write_temp_with(dest, bytes, Durability::Unsynced)?, dest)
}

/// Remove the file at `path`; one that is already gone is no error.
pub fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path.display(), e)),
    }
}

/// Read `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match crate::read_file::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path.display(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("a/b/file.json");
        write_atomic(&dest, b"one").unwrap();
        write_atomic(&dest, b"two").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        write_atomic_unsynced(&dest, b"three").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"three");
        let names: Vec<_> = fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["file.json"]);
        assert_eq!(read_optional(&d.path().join("missing")).unwrap(), None);
    }

    #[test]
    fn temp_names_are_recognised() {
        let t = temp_path_for(Path::new("/x/raw"));
        let n = t.file_name().unwrap().to_str().unwrap();
        assert!(is_temp_name(n), "{n}");
        assert!(!is_temp_name("raw"));
        assert!(!is_temp_name("notes.tmp"));
    }
}
