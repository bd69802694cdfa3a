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

/// A temporary file untouched for this long was left by a writer that
/// crashed (a live writer keeps touching it, and no single download or
/// sidecar write takes a day): the walk removes it, so crash leftovers do
/// not pile up in the cache. A day also tolerates clocks that disagree.
pub const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Remove `path` (a temporary file) when it has not been modified for
/// [`STALE_TEMP`]. Best effort: a failure leaves it for the next walk.
fn remove_if_stale_temp(path: &Path) {
    let stale = fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_TEMP);
    if stale {
        let _ = fs::remove_file(path);
    }
}

/// Every syncable file below `root/start` (or all of `root` when `start` is
/// empty), as bare rels relative to `root`, sorted. Internal and temporary
/// files are left out (stale temporary files are removed, see
/// [`STALE_TEMP`]), symlinks are not followed, and `skip_dir(rel)` prunes
/// directories (foreign namespaces).
pub fn walk(
    root: &Path,
    start: &str,
    skip_dir: &dyn Fn(&str, &Path) -> bool,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    walk_files(root, start, skip_dir, false, &mut |rel| {
        out.push(rel);
        Ok(())
    })?;
    out.sort();
    Ok(out)
}

/// The files [`walk`] finds, handed to `each` as they are found instead
/// of collected (so a walk of a huge tree holds no list of it), in no
/// particular order except that each directory's subtree comes whole.
pub fn walk_each(
    root: &Path,
    start: &str,
    skip_dir: &dyn Fn(&str, &Path) -> bool,
    each: &mut dyn FnMut(String) -> Result<()>,
) -> Result<()> {
    walk_files(root, start, skip_dir, false, each)
}

/// Every file below `root/start` as a store holds them, internal files
/// included (an index, `_control/` records, `.namespace.json` manifests):
/// what a directory used as a remote store lists, as a bucket listing
/// would. Temporary files are still left out.
pub fn walk_objects(root: &Path, start: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    walk_files(root, start, &|_, _| false, true, &mut |rel| {
        out.push(rel);
        Ok(())
    })?;
    out.sort();
    Ok(out)
}

fn walk_files(
    root: &Path,
    start: &str,
    skip_dir: &dyn Fn(&str, &Path) -> bool,
    internal_too: bool,
    each: &mut dyn FnMut(String) -> Result<()>,
) -> Result<()> {
    let keep = |rel: &str| {
        if internal_too {
            !crate::atomic_file::is_temp_name(&entry_name(rel))
        } else {
            !rules::is_never_synced(rel)
        }
    };
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
                if !skip_dir(&rel, &entry.path()) && (internal_too || !rules::is_internal(&rel)) {
                    stack.push(rel);
                }
            } else if ft.is_file() && keep(&rel) {
                each(rel)?;
            } else if ft.is_file() && crate::atomic_file::is_temp_name(&entry_name(&rel)) {
                remove_if_stale_temp(&entry.path());
            }
        }
    }
    Ok(())
}

fn entry_name(rel: &str) -> String {
    rel.rsplit('/').next().unwrap_or(rel).to_string()
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
    fn the_walk_removes_stale_temp_files_and_keeps_fresh_ones() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("data/m")).unwrap();
        let stale = crate::atomic_file::temp_path_for(&r.join("data/m/raw"));
        let fresh = crate::atomic_file::temp_path_for(&r.join("data/m/raw"));
        fs::write(&stale, b"left by a crash").unwrap();
        fs::write(&fresh, b"being written").unwrap();
        fs::write(r.join("data/m/raw"), b"x").unwrap();
        let old = std::time::SystemTime::now() - STALE_TEMP - std::time::Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(walk(r, "", &|_, _| false).unwrap(), vec!["data/m/raw"]);
        assert!(!stale.exists(), "a day-old temp file is a crash leftover");
        assert!(
            fresh.exists(),
            "a fresh temp file may belong to a live writer"
        );
    }

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
