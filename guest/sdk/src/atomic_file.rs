//! Crash-safe local writes: a reader sees the old file or the new one,
//! never half of either. Temporary files carry a distinctive suffix so
//! walkers can skip ones a crash left behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::nonce;

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

/// Write `bytes` to a new temporary file beside `dest`, flushed to disk.
/// Creates missing parent directories. Returns the temporary path.
pub fn write_temp(dest: &Path, bytes: &[u8]) -> Result<PathBuf> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
    }
    let tmp = temp_path_for(dest);
    let res = (|| {
        let mut f: File = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(tmp.display(), e));
    }
    Ok(tmp)
}

/// Replace `dest` with `bytes` atomically: temporary file, fsync, rename.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = write_temp(dest, bytes)?;
    fs::rename(&tmp, dest).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(dest.display(), e)
    })
}

/// Read `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
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
