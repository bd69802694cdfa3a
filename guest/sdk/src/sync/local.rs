//! The local cache side of a sync: stat, hash and walk files below a root,
//! with std::fs (inside a component, wasi:filesystem on a host preopen).

use std::fs;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::iso_time;
use crate::sync::rules;

/// What is at a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalKind {
    /// Nothing.
    Absent,
    /// A directory.
    Dir,
    /// A regular file of this size and mtime (ISO with nanoseconds).
    File {
        /// Bytes.
        size: u64,
        /// Modification time, when the filesystem reports one.
        mtime: Option<String>,
    },
}

/// Stat `path` without following a final symlink (a symlink counts as
/// absent: the sync never follows links out of the cache).
pub fn stat(path: &Path) -> Result<LocalKind> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(LocalKind::Dir),
        Ok(m) if m.is_file() => Ok(LocalKind::File {
            size: m.len(),
            mtime: m.modified().ok().map(|t| iso_time::format_nanos(t.into())),
        }),
        Ok(_) => Ok(LocalKind::Absent),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LocalKind::Absent),
        Err(e) => Err(Error::io(path.display(), e)),
    }
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 and size of a file, streamed.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut f = fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path.display(), e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

/// Every syncable file below `root/start` (or all of `root` when `start` is
/// empty), as bare rels relative to `root`, sorted. Internal and temporary
/// files are left out, symlinks are not followed, and `skip_dir(rel)`
/// prunes directories (foreign namespaces).
pub fn walk(
    root: &Path,
    start: &str,
    skip_dir: &dyn Fn(&str, &Path) -> bool,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![start.to_string()];
    while let Some(rel_dir) = stack.pop() {
        let dir = if rel_dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel_dir)
        };
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(dir.display(), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue; // not UTF-8: cannot be a rel-path
            };
            let rel = if rel_dir.is_empty() {
                name
            } else {
                format!("{rel_dir}/{name}")
            };
            let ft = entry
                .file_type()
                .map_err(|e| Error::io(entry.path().display(), e))?;
            if ft.is_dir() {
                if !skip_dir(&rel, &entry.path()) && !rules::is_internal(&rel) {
                    stack.push(rel);
                }
            } else if ft.is_file() && !rules::is_never_synced(&rel) {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Remove now-empty directories from `start` up to (not including) `root`.
pub fn prune_empty_dirs(root: &Path, start: &Path) {
    let mut cur = start.to_path_buf();
    while cur.starts_with(root) && cur != root {
        if fs::remove_dir(&cur).is_err() {
            break; // not empty (or gone): stop
        }
        if !cur.pop() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_syncable_files_only() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for f in [
            "data/a/raw",
            "data/a/.lock",
            ".datastore-index.json",
            "ns/.namespace.json",
            "ns/x",
            "top",
            "_index/s.json",
            "data/.raw.1.swamp-tmp",
        ] {
            let p = r.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"x").unwrap();
        }
        let all = walk(r, "", &|_, _| false).unwrap();
        assert_eq!(all, vec!["data/a/raw", "ns/x", "top"]);
        let no_ns = walk(r, "", &|rel, _| rel == "ns").unwrap();
        assert_eq!(no_ns, vec!["data/a/raw", "top"]);
        assert_eq!(walk(r, "data", &|_, _| false).unwrap(), vec!["data/a/raw"]);
        assert!(walk(r, "missing", &|_, _| false).unwrap().is_empty());
    }

    #[test]
    fn stat_and_hash() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        assert_eq!(stat(&f).unwrap(), LocalKind::Absent);
        fs::write(&f, b"abc").unwrap();
        assert!(matches!(
            stat(&f).unwrap(),
            LocalKind::File {
                size: 3,
                mtime: Some(_)
            }
        ));
        assert_eq!(stat(d.path()).unwrap(), LocalKind::Dir);
        let (h, n) = hash_file(&f).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(b"abc"), h);
    }

    #[test]
    fn prunes_only_empty_dirs() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a/b/c");
        fs::create_dir_all(&deep).unwrap();
        fs::write(d.path().join("a/keep"), b"").unwrap();
        prune_empty_dirs(d.path(), &deep);
        assert!(!d.path().join("a/b").exists());
        assert!(d.path().join("a").exists());
    }
}
