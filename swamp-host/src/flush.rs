//! `host-info.flush-files` (wit/host-info.wit): many guest files made
//! durable at once. A guest has one thread, so its own WASI `sync` calls
//! wait for one disk flush after another (about a millisecond each on an
//! ordinary disk); flushed here, side by side on tokio's blocking pool, the
//! disk commits them together and a pull of thousands of files no longer
//! spends most of its time in serial flushes. On Linux a large batch is
//! flushed by file system instead ([`SYNCFS_FROM`]).
//!
//! The sandbox holds as for WASI: a path is opened through the mounted
//! directory's capability handle (`cap-std`, what wasmtime-wasi itself
//! uses), so `..`, absolute symlinks and links leading out of a mount are
//! refused exactly as the guest's own opens would be.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use futures::StreamExt;

/// Flushes in flight at once: enough for the disk to batch its journal
/// commits, few enough not to crowd tokio's blocking pool.
const IN_FLIGHT: usize = 32;

/// From this many files on, Linux flushes them by file system (one
/// `syncfs` per file system they are on) instead of one `fsync` each.
/// 256 downloads (a pull's chunk) took 11 to 14 ms to flush 32 at a time on
/// this repository's bench machine, a tenth of a 10,000-file pull, during
/// which the guest waits (`make bench`, figure d). The price: `syncfs`
/// also waits for whatever else is dirty on that file system, so a small
/// batch keeps the per-file path.
#[cfg(target_os = "linux")]
const SYNCFS_FROM: usize = 32;

/// The mounted directories, each with a capability handle opened once.
#[derive(Default)]
pub(crate) struct MountDirs {
    dirs: Vec<(PathBuf, Arc<Dir>)>,
}

impl MountDirs {
    /// Handles for the mounts that exist; one that cannot be opened is left
    /// out (the guest's own preopen of it fails with a message already).
    pub(crate) fn open<'a>(mounts: impl Iterator<Item = &'a Path>) -> Self {
        let dirs = mounts
            .filter_map(|m| {
                Dir::open_ambient_dir(m, ambient_authority())
                    .ok()
                    .map(|d| (m.to_path_buf(), Arc::new(d)))
            })
            .collect();
        Self { dirs }
    }

    /// The mount holding `path` (the deepest one) and the path inside it.
    fn locate(&self, path: &Path) -> Option<(Arc<Dir>, PathBuf)> {
        self.dirs
            .iter()
            .filter_map(|(mount, dir)| {
                let rel = path.strip_prefix(mount).ok()?;
                Some((mount.components().count(), dir, rel))
            })
            .max_by_key(|(depth, _, _)| *depth)
            .filter(|(_, _, rel)| !rel.as_os_str().is_empty())
            .map(|(_, dir, rel)| (dir.clone(), rel.to_path_buf()))
    }

    /// Flush every path, [`IN_FLIGHT`] at a time; one result per path, in
    /// order.
    pub(crate) async fn flush(self: Arc<Self>, paths: Vec<String>) -> Vec<Result<(), String>> {
        #[cfg(target_os = "linux")]
        if paths.len() >= SYNCFS_FROM {
            let (mounts, n) = (self.clone(), paths.len());
            // One result per path, also when the host itself failed.
            return tokio::task::spawn_blocking(move || mounts.flush_by_file_system(&paths))
                .await
                .unwrap_or_else(|e| vec![Err(format!("the host failed: {e}")); n]);
        }
        futures::stream::iter(paths)
            .map(|path| {
                let mounts = self.clone();
                async move {
                    tokio::task::spawn_blocking(move || mounts.flush_one(&path))
                        .await
                        .unwrap_or_else(|e| Err(format!("the host failed: {e}")))
                }
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await
    }

    fn flush_one(&self, path: &str) -> Result<(), String> {
        self.open_inside(path)?
            .sync_all()
            .map_err(|e| e.to_string())
    }

    /// `path` opened through the mount that holds it.
    fn open_inside(&self, path: &str) -> Result<cap_std::fs::File, String> {
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err("not an absolute path".into());
        }
        let (dir, rel) = self.locate(p).ok_or("not inside a mounted directory")?;
        dir.open(&rel).map_err(|e| e.to_string())
    }

    /// Every path opened (through its mount, as [`Self::flush_one`] does),
    /// then one `syncfs` per file system they are on: it writes back and
    /// commits everything dirty there, these files' data and metadata
    /// included, and reports a write-back error of any of them (Linux 5.8
    /// and later) as `fsync` would. A file system whose `syncfs` fails has
    /// its files flushed one by one, so each gets its own answer.
    #[cfg(target_os = "linux")]
    fn flush_by_file_system(&self, paths: &[String]) -> Vec<Result<(), String>> {
        use std::collections::BTreeMap;
        let opened: Vec<Result<(cap_std::fs::File, u64), String>> = paths
            .iter()
            .map(|p| {
                let f = self.open_inside(p)?;
                let dev = rustix::fs::fstat(&f).map_err(|e| e.to_string())?.st_dev;
                Ok((f, dev))
            })
            .collect();
        let mut synced: BTreeMap<u64, bool> = BTreeMap::new();
        for (f, dev) in opened.iter().flatten() {
            synced
                .entry(*dev)
                .or_insert_with(|| rustix::fs::syncfs(f).is_ok());
        }
        opened
            .into_iter()
            .map(|r| {
                let (f, dev) = r?;
                if synced.get(&dev) == Some(&true) {
                    Ok(())
                } else {
                    f.sync_all().map_err(|e| e.to_string())
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounts(dirs: &[&Path]) -> Arc<MountDirs> {
        Arc::new(MountDirs::open(dirs.iter().copied()))
    }

    #[tokio::test]
    async fn flushes_files_inside_mounts_and_refuses_the_rest_by_name() {
        flushes_and_refuses(0).await;
    }

    /// The same answers from the batch path (one syncfs per file system).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_large_batch_flushes_by_file_system_with_the_same_answers() {
        flushes_and_refuses(SYNCFS_FROM + 8).await;
    }

    /// Six paths (one good, five refused for different reasons) followed by
    /// `more` good files.
    async fn flushes_and_refuses(more: usize) {
        let root = tempfile::tempdir().unwrap();
        let mount = root.path().join("mount");
        std::fs::create_dir_all(mount.join("deep")).unwrap();
        std::fs::write(mount.join("deep/a"), b"a").unwrap();
        std::fs::write(root.path().join("outside"), b"o").unwrap();
        std::os::unix::fs::symlink(root.path().join("outside"), mount.join("link-out")).unwrap();
        let m = |p: &str| mount.join(p).display().to_string();
        let mut paths = vec![
            m("deep/a"),
            m("missing"),
            root.path().join("outside").display().to_string(),
            m("deep/../../outside"),
            m("link-out"),
            "relative/a".to_string(),
        ];
        for i in 0..more {
            std::fs::write(mount.join(format!("deep/more-{i}")), b"m").unwrap();
            paths.push(m(&format!("deep/more-{i}")));
        }
        let out = mounts(&[&mount]).flush(paths.clone()).await;
        assert_eq!(out.len(), paths.len());
        assert_eq!(out[0], Ok(()));
        assert!(out[6..].iter().all(|r| r.is_ok()), "{out:?}");
        for (i, r) in out.iter().enumerate().take(6).skip(1) {
            let e = r.as_ref().expect_err(&paths[i]);
            // The caller names the path (wit/host-info.wit).
            assert!(!e.is_empty() && !e.contains(&paths[i]), "{e}");
        }
        assert!(
            out[2]
                .as_ref()
                .unwrap_err()
                .contains("not inside a mounted directory")
        );
        assert!(
            out[5]
                .as_ref()
                .unwrap_err()
                .contains("not an absolute path")
        );
    }

    #[tokio::test]
    async fn the_deepest_mount_holding_a_path_opens_it() {
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("inner");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(inner.join("f"), b"f").unwrap();
        let both = mounts(&[root.path(), &inner]);
        let (_, rel) = both.locate(&inner.join("f")).unwrap();
        assert_eq!(rel, Path::new("f"));
        // A mount itself is a directory, not a file of it.
        assert!(both.locate(&inner).is_none());
        let out = both
            .flush(vec![inner.join("f").display().to_string()])
            .await;
        assert_eq!(out, vec![Ok(())]);
    }
}
