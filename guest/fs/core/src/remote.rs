//! The shared directory as the sync engine's remote store. Objects are
//! files at `{share}/{key}`, written atomically (temp file, fsync, rename).
//!
//! Index writes must be safe against writers on other machines without a
//! compare-and-swap primitive, so [`FsRemote::put_if`] serialises them with
//! a short-lived mutex file `[{ns}/]_index/.lock` (internal twice over:
//! under `_index/` and named `.lock`), compares the index's fingerprint
//! under it, and only then replaces the index.
//!
//! Fingerprints are `{size}-{mtime in ns}` of the index file: a stat, so
//! the zero-diff pull costs O(1). Every write made under the mutex is
//! forced to produce a fingerprint different from the one it replaces.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use swamp_datastore_sdk::sync::local::{self, sha256_hex};
use swamp_datastore_sdk::sync::{
    CasOutcome, Fingerprint, HashingReader, HashingWriter, RemoteObject, RemoteStore, Sent,
};
use swamp_datastore_sdk::write_file::WriteFile;
use swamp_datastore_sdk::{Error, Result, atomic_file, iso_time, nonce};

use swamp_datastore_sdk::claim;

/// How long a writer waits for the index mutex before `unavailable`.
const MUTEX_WAIT: Duration = Duration::from_secs(10);
/// A mutex file older than this was left by a crashed writer.
const MUTEX_STALE: Duration = Duration::from_secs(30);

/// A directory used as a remote store.
#[derive(Debug, Clone)]
pub struct FsRemote {
    root: PathBuf,
}

fn fingerprint_of(meta: &fs::Metadata) -> Option<Fingerprint> {
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(Fingerprint(format!("{}-{}", meta.len(), mtime.as_nanos())))
}

impl FsRemote {
    /// The store rooted at `root` (the configured share).
    pub fn new(root: impl Into<PathBuf>) -> FsRemote {
        FsRemote { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        for s in key.split('/').filter(|s| !s.is_empty()) {
            p.push(s);
        }
        p
    }

    /// Copy object `key` into a new file at `dest` as it is read: what was
    /// written and the handle read from (which pins the file copied, even
    /// if a writer renames a new one into place meanwhile); `None` when
    /// absent.
    fn copy_out(&self, key: &str, dest: &Path) -> Result<Option<(Sent, fs::File)>> {
        let p = self.path(key);
        let mut src = match fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(p.display(), e)),
        };
        let out = WriteFile::create(dest).map_err(|e| Error::io(dest.display(), e))?;
        let mut out = HashingWriter::new(out);
        std::io::copy(&mut src, &mut out).map_err(|e| Error::io(p.display(), e))?;
        Ok(Some((out.written(), src)))
    }

    /// A fingerprint from a stat; falls back to the content hash where the
    /// filesystem has no mtime.
    fn stat_fingerprint(&self, path: &Path) -> Result<Option<Fingerprint>> {
        match fs::metadata(path) {
            Ok(m) => match fingerprint_of(&m) {
                Some(fp) => Ok(Some(fp)),
                None => Ok(Some(Fingerprint(format!(
                    "sha-{}",
                    local::hash_file(path)?.0
                )))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path.display(), e)),
        }
    }

    /// Take the index mutex of `key`'s root (`[{ns}/]_index/.lock`: one
    /// for the monolith, the shards and the meta of that root); returns its
    /// path and body.
    fn lock_index(&self, key: &str) -> Result<(PathBuf, Vec<u8>)> {
        let parent = key.rsplit_once('/').map_or("", |(p, _)| p);
        let root = if parent == "_index" {
            ""
        } else {
            parent.strip_suffix("/_index").unwrap_or(parent)
        };
        let dir = if root.is_empty() {
            "_index/.lock".to_string()
        } else {
            format!("{root}/_index/.lock")
        };
        let mutex = self.path(&dir);
        let body = format!("{} {}", nonce::new_nonce(), iso_time::now_millis()).into_bytes();
        let start = Instant::now();
        loop {
            let tmp = atomic_file::write_temp(&mutex, &body)?;
            if claim::publish_exclusive(&tmp, &mutex, &body)? {
                return Ok((mutex, body));
            }
            // Left behind by a crashed writer? Remove it only if unchanged.
            if let Ok(m) = fs::metadata(&mutex)
                && let Ok(age) = m
                    .modified()
                    .map(|t| SystemTime::now().duration_since(t).unwrap_or_default())
                && age > MUTEX_STALE
                && let Some(stale) = atomic_file::read_optional(&mutex)?
            {
                claim::remove_if_same(&mutex, &stale)?;
                continue;
            }
            if start.elapsed() > MUTEX_WAIT {
                return Err(Error::Unavailable(format!(
                    "the index mutex {} stayed taken for {} s; another writer is busy or crashed (it expires after {} s)",
                    mutex.display(),
                    MUTEX_WAIT.as_secs(),
                    MUTEX_STALE.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(2 + nonce::random_below(8)));
        }
    }

    /// Under the mutex: replace `path` with `bytes`, with a fingerprint
    /// guaranteed to differ from `old`.
    fn replace_distinct(
        &self,
        path: &Path,
        bytes: &[u8],
        old: Option<&Fingerprint>,
    ) -> Result<Fingerprint> {
        for _ in 0..200 {
            let tmp = atomic_file::write_temp(path, bytes)?;
            let fp = self.stat_fingerprint(&tmp)?;
            if fp.is_some() && fp.as_ref() != old {
                atomic_file::rename_over(&tmp, path)?;
                return self.stat_fingerprint(path)?.ok_or_else(|| {
                    Error::Internal(format!(
                        "{} vanished right after it was written",
                        path.display()
                    ))
                });
            }
            // Same size within one mtime tick: wait for the clock to move.
            let _ = fs::remove_file(&tmp);
            std::thread::sleep(Duration::from_millis(1));
        }
        Err(Error::Unavailable(format!(
            "could not give {} a new fingerprint: the filesystem clock does not advance",
            path.display()
        )))
    }
}

/// Copy `src` to `dest` through a temporary file (fsync, rename).
fn copy_atomic(src: &mut impl std::io::Read, dest: &Path) -> Result<()> {
    let (tmp, mut out) = atomic_file::create_temp_beside(dest)?;
    let res = (|| {
        std::io::copy(src, &mut out)?;
        out.sync_all()?;
        fs::rename(&tmp, dest)
    })();
    res.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(dest.display(), e)
    })
}

impl RemoteStore for FsRemote {
    fn describe(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        atomic_file::read_optional(&self.path(key))
    }

    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        atomic_file::write_atomic(&self.path(key), bytes)
    }

    /// An exclusive publish of a finished file (the lock files' primitive),
    /// not `put_if`: that one takes the index mutex of the key's directory,
    /// which would leave `_index/` files among the records beside it.
    fn put_if_absent(&mut self, key: &str, bytes: &[u8]) -> Result<bool> {
        let dest = self.path(key);
        let tmp = atomic_file::write_temp(&dest, bytes)?;
        claim::publish_exclusive(&tmp, &dest, bytes)
    }

    fn delete(&mut self, key: &str) -> Result<()> {
        let p = self.path(key);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(p.display(), e)),
        }
        if let Some(parent) = p.parent() {
            local::prune_empty_dirs(&self.root, parent);
        }
        Ok(())
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>> {
        let start = prefix.trim_end_matches('/');
        let mut out = Vec::new();
        for rel in local::walk_objects(&self.root, start)? {
            let path = self.path(&rel);
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            let sha = match local::hash_file(&path) {
                Ok((sha, _)) => sha,
                Err(_) => continue, // vanished while listing
            };
            out.push(RemoteObject {
                key: rel,
                size: meta.len(),
                last_modified: meta
                    .modified()
                    .map(|t| iso_time::format_millis(t.into()))
                    .unwrap_or_default(),
                sha256: Some(sha),
            });
        }
        Ok(out)
    }

    fn get_versioned(&mut self, key: &str) -> Result<Option<(Vec<u8>, Fingerprint)>> {
        use std::io::Read;
        let p = self.path(key);
        let mut f = match fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(p.display(), e)),
        };
        // The handle pins one file: its metadata describes exactly the bytes
        // read, even if a writer renames a new index into place meanwhile.
        let meta = f.metadata().map_err(|e| Error::io(p.display(), e))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| Error::io(p.display(), e))?;
        let fp = fingerprint_of(&meta)
            .unwrap_or_else(|| Fingerprint(format!("sha-{}", sha256_hex(&bytes))));
        Ok(Some((bytes, fp)))
    }

    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        self.stat_fingerprint(&self.path(key))
    }

    /// Streamed copy into a temporary file beside the object, fsync,
    /// rename: readers see the old object or the whole new one.
    fn put_file(&mut self, key: &str, path: &Path) -> Result<Sent> {
        let dest = self.path(key);
        let src = fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
        let mut src = HashingReader::new(src);
        copy_atomic(&mut src, &dest)?;
        Ok(src.sent())
    }

    /// Streamed copy of the object into `dest`.
    fn get_to_file(&mut self, key: &str, dest: &Path) -> Result<Option<Sent>> {
        Ok(self.copy_out(key, dest)?.map(|(sent, _)| sent))
    }

    /// Streamed as [`get_to_file`](Self::get_to_file), with the
    /// fingerprint of the handle copied from (as `get_versioned` takes it).
    fn get_to_file_versioned(
        &mut self,
        key: &str,
        dest: &Path,
    ) -> Result<Option<(Sent, Fingerprint)>> {
        let Some((sent, src)) = self.copy_out(key, dest)? else {
            return Ok(None);
        };
        let p = self.path(key);
        let meta = src.metadata().map_err(|e| Error::io(p.display(), e))?;
        let fp =
            fingerprint_of(&meta).unwrap_or_else(|| Fingerprint(format!("sha-{}", sent.sha256)));
        Ok(Some((sent, fp)))
    }

    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let path = self.path(key);
        let (mutex, body) = self.lock_index(key)?;
        let outcome = (|| {
            let current = self.stat_fingerprint(&path)?;
            if current.as_ref() != expected {
                return Ok(CasOutcome::Conflict);
            }
            Ok(CasOutcome::Written(self.replace_distinct(
                &path,
                bytes,
                current.as_ref(),
            )?))
        })();
        claim::remove_if_same(&mutex, &body)?;
        if let Some(dir) = mutex.parent() {
            let _ = fs::remove_dir(dir); // tidy: `_index/` only if now empty
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_listing() {
        let d = tempfile::tempdir().unwrap();
        let mut r = FsRemote::new(d.path());
        assert_eq!(r.get("a/b").unwrap(), None);
        r.put("a/b", b"x").unwrap();
        r.put("ns/c", b"yy").unwrap();
        assert_eq!(r.get("a/b").unwrap().unwrap(), b"x");
        let all: Vec<_> = r.list("").unwrap().into_iter().map(|o| o.key).collect();
        assert_eq!(all, vec!["a/b", "ns/c"]);
        let ns = r.list("ns/").unwrap();
        assert_eq!(ns[0].key, "ns/c");
        assert_eq!(ns[0].size, 2);
        assert_eq!(ns[0].sha256.as_deref(), Some(sha256_hex(b"yy").as_str()));
        r.delete("a/b").unwrap();
        r.delete("a/b").unwrap();
        assert!(!d.path().join("a").exists(), "empty dirs pruned");
    }

    #[test]
    fn internal_objects_are_listed_as_a_bucket_lists_them() {
        let d = tempfile::tempdir().unwrap();
        let mut r = FsRemote::new(d.path());
        for k in [
            "_control/claims/c",
            "ns/.namespace.json",
            ".datastore-index.json",
        ] {
            r.put(k, b"{}").unwrap();
        }
        let all: Vec<_> = r.list("").unwrap().into_iter().map(|o| o.key).collect();
        assert_eq!(
            all,
            vec![
                ".datastore-index.json",
                "_control/claims/c",
                "ns/.namespace.json"
            ]
        );
    }

    #[test]
    fn put_if_absent_creates_once_and_leaves_no_side_files() {
        let d = tempfile::tempdir().unwrap();
        let mut r = FsRemote::new(d.path());
        assert!(r.put_if_absent("_control/claims/c", b"first").unwrap());
        assert!(!r.put_if_absent("_control/claims/c", b"second").unwrap());
        assert_eq!(r.get("_control/claims/c").unwrap().unwrap(), b"first");
        let all: Vec<_> = r.list("").unwrap().into_iter().map(|o| o.key).collect();
        assert_eq!(all, vec!["_control/claims/c"]);
    }

    #[test]
    fn writers_racing_deletions_that_prune_directories_never_fail() {
        // One thread keeps emptying a directory (its deletions prune it),
        // others keep writing into it and into the index directory, whose
        // mutex tidy-up also removes it when empty: every write must land.
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_path_buf();
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let mut r = FsRemote::new(&root);
                    for i in 0..150 {
                        let key = format!("shared/dir/{t}-{i}");
                        r.put(&key, b"x").map_err(|e| format!("put {key}: {e}"))?;
                        r.delete(&key).map_err(|e| format!("delete {key}: {e}"))?;
                        let idx = format!("_index/p{t}.json");
                        let fp = r.fingerprint(&idx).map_err(|e| format!("{e}"))?;
                        r.put_if(&idx, format!("{i}").as_bytes(), fp.as_ref())
                            .map_err(|e| format!("put_if {idx}: {e}"))?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }

    #[test]
    fn compare_and_swap_on_the_index() {
        let d = tempfile::tempdir().unwrap();
        let mut r = FsRemote::new(d.path());
        let k = ".datastore-index.json";
        let CasOutcome::Written(f1) = r.put_if(k, b"{1}", None).unwrap() else {
            panic!()
        };
        assert_eq!(r.put_if(k, b"{2}", None).unwrap(), CasOutcome::Conflict);
        // Same size, written right away: still a new fingerprint.
        let CasOutcome::Written(f2) = r.put_if(k, b"{3}", Some(&f1)).unwrap() else {
            panic!()
        };
        assert_ne!(f1, f2);
        assert_eq!(
            r.put_if(k, b"{4}", Some(&f1)).unwrap(),
            CasOutcome::Conflict
        );
        assert_eq!(r.fingerprint(k).unwrap(), Some(f2.clone()));
        let (bytes, f) = r.get_versioned(k).unwrap().unwrap();
        assert_eq!((bytes.as_slice(), f), (&b"{3}"[..], f2));
        // The mutex is gone afterwards.
        assert!(!d.path().join("_index").exists());
        // Namespaced index: mutex beside it.
        r.put_if("ns/.datastore-index.json", b"{}", None).unwrap();
        assert!(!d.path().join("ns/_index").exists());
        // Shards and meta share their root's mutex (never `_index/_index`).
        for k in ["_index/_meta.json", "ns/_index/data--t--m.json"] {
            assert!(matches!(
                r.put_if(k, b"{}", None).unwrap(),
                CasOutcome::Written(_)
            ));
            assert_eq!(r.put_if(k, b"{}", None).unwrap(), CasOutcome::Conflict);
        }
        assert!(!d.path().join("_index/_index").exists());
        assert!(!d.path().join("_index/.lock").exists());
        assert!(!d.path().join("ns/_index/_index").exists());
    }

    #[test]
    fn files_are_streamed_in_and_out() {
        let d = tempfile::tempdir().unwrap();
        let mut r = FsRemote::new(d.path().join("share"));
        let src = d.path().join("src");
        fs::write(&src, b"payload").unwrap();
        r.put_file("a/b/c", &src).unwrap();
        assert_eq!(r.get("a/b/c").unwrap().unwrap(), b"payload");
        let dest = d.path().join("dest");
        assert_eq!(
            r.get_to_file("a/b/c", &dest).unwrap().map(|s| s.size),
            Some(7)
        );
        assert_eq!(fs::read(&dest).unwrap(), b"payload");
        assert_eq!(r.get_to_file("missing", &d.path().join("x")).unwrap(), None);
        assert!(!d.path().join("x").exists());
        let names: Vec<_> = fs::read_dir(d.path().join("share/a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }

    #[test]
    fn a_crashed_writers_mutex_expires_only_when_old() {
        let d = tempfile::tempdir().unwrap();
        let r = FsRemote::new(d.path());
        let m = d.path().join("_index/.lock");
        fs::create_dir_all(m.parent().unwrap()).unwrap();
        fs::write(&m, b"someone").unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&m)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let (path, _) = r.lock_index(".datastore-index.json").unwrap();
        assert_eq!(path, m);
        assert_ne!(fs::read(&m).unwrap(), b"someone");
    }
}
