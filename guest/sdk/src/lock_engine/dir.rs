//! A directory as a [`LockStore`]: a lock file at `{datastore}/{key}`
//! holding swamp's `LockInfo` JSON, so swamp's own filesystem datastore and
//! every datastore on this store exclude each other. fs-datastore
//! (`guest/fs/core/src/provider.rs`) and the example
//! `guest/examples/dir-datastore` lock with it. The protocol (retries,
//! staleness, fencing, nonces) is the engine's; this file is only the
//! directory:
//!
//! * Create: the body is written to a temporary file and hard-linked into
//!   place, so the lock appears atomically with its full content and only
//!   if absent ([`claim::publish_exclusive`]).
//! * A directory has no versions: a lock's version is its bytes. Replace
//!   and delete act only while the file still holds those exact bytes
//!   ([`claim::remove_if_same`]), so a successor's fresh lock is never
//!   deleted or overwritten.
//! * No clock of its own: staleness compares the holder's `acquiredAt`
//!   with our wall clock, as swamp does (no pid probing: a pid from
//!   another host means nothing). A file that cannot be parsed ages by its
//!   mtime.

use crate::lock_info::LockInfoExt;
use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use super::{Cas, LockStore, Pacing, Stored};
use crate::error::{Error, Result};
use crate::lock_info::LockInfo;
use crate::rel_path::RelPath;
use crate::{atomic_file, claim, iso_time};

/// A datastore directory as the store of its lock files.
#[derive(Clone, Debug)]
pub struct LockDir {
    root: PathBuf,
}

impl LockDir {
    /// The lock files below `datastore_path`, which must be absolute.
    pub fn new(datastore_path: &str) -> Result<LockDir> {
        if !datastore_path.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "datastore path {datastore_path:?} must be absolute"
            )));
        }
        Ok(LockDir {
            root: PathBuf::from(datastore_path),
        })
    }

    fn path(&self, key: &RelPath) -> PathBuf {
        key.under(&self.root)
    }
}

/// How much of the lease a renewal by rename may leave: the margin for the
/// holder being paused between its check and its rename, and for a
/// contender's clock running ahead of ours (a contender deletes a lock only
/// once its age passes the TTL by the contender's clock).
const RENAME_MARGIN_DIVISOR: u64 = 4;

/// Whether the lock `bytes` may be renewed by renaming over it: its age by
/// our clock leaves at least a quarter of its lease. swamp's holders beat
/// every third of the TTL, so a heartbeat may come almost half a TTL late
/// and still renew in place; with a limit at half the lease (as this was
/// once), a heartbeat a sixth of a TTL late on a loaded machine took the
/// guarded path below and could lose a live lock to a contender.
fn renewable_in_place(bytes: &[u8]) -> bool {
    LockInfo::parse(bytes, "lock").is_ok_and(|info| {
        let margin = info.ttl_ms / RENAME_MARGIN_DIVISOR;
        info.age_ms(iso_time::now()) <= info.ttl_ms - margin
    })
}

impl LockStore for LockDir {
    /// The file's exact bytes.
    type Version = Vec<u8>;

    fn create(&mut self, key: &RelPath, bytes: &[u8]) -> Result<Cas<Vec<u8>>> {
        let path = self.path(key);
        let tmp = atomic_file::write_temp(&path, bytes)?;
        Ok(if claim::publish_exclusive(&tmp, &path, bytes)? {
            Cas::Done(bytes.to_vec())
        } else {
            Cas::Refused
        })
    }

    fn read(&mut self, key: &RelPath) -> Result<Option<Stored<Vec<u8>>>> {
        Ok(
            atomic_file::read_optional(&self.path(key))?.map(|bytes| Stored {
                version: bytes.clone(),
                bytes,
            }),
        )
    }

    fn replace(&mut self, key: &RelPath, version: &Vec<u8>, bytes: &[u8]) -> Result<Cas<Vec<u8>>> {
        let path = self.path(key);
        if atomic_file::read_optional(&path)?.as_ref() != Some(version) {
            return Ok(Cas::Refused);
        }
        // A directory has no compare-and-swap: the check above and the
        // write below are two steps.
        if renewable_in_place(version) {
            // Nobody may take the lock over before its TTL has passed, so
            // a rename over the file is safe, and the lock file never
            // disappears: contenders keep failing their exclusive create.
            atomic_file::write_atomic(&path, bytes)?;
            return Ok(Cas::Done(bytes.to_vec()));
        }
        // Late in the lease (or past it) a contender may be taking the lock
        // over right now, and a rename could overwrite its fresh lock. Then
        // remove the file only if it still holds the bytes of `version`,
        // and publish the renewal exclusively: a contender's create may win
        // the moment in between (we lose the lock), but two holders never
        // coexist.
        let tmp = atomic_file::write_temp(&path, bytes)?;
        if !claim::remove_if_same(&path, version)? {
            let _ = fs::remove_file(&tmp);
            return Ok(Cas::Refused);
        }
        Ok(if claim::publish_exclusive(&tmp, &path, bytes)? {
            Cas::Done(bytes.to_vec())
        } else {
            Cas::Refused
        })
    }

    fn delete(&mut self, key: &RelPath, version: &Vec<u8>) -> Result<Cas<()>> {
        let path = self.path(key);
        // Look before moving anything: `remove_if_same` takes the file away
        // while it compares, and a contender's exclusive create can win
        // that moment. On a successor's lock (the release of a holder that
        // lost it) that would let a third holder in beside the successor.
        if atomic_file::read_optional(&path)?.as_ref() != Some(version) {
            return Ok(Cas::Refused);
        }
        Ok(if claim::remove_if_same(&path, version)? {
            Cas::Done(())
        } else {
            Cas::Refused
        })
    }

    fn describe(&self, key: &RelPath) -> String {
        self.path(key).display().to_string()
    }

    /// The file's age by its mtime (asked only of a file that does not
    /// parse).
    fn age_ms(&mut self, key: &RelPath, _version: &Vec<u8>) -> Option<u64> {
        let modified = fs::metadata(self.path(key))
            .and_then(|m| m.modified())
            .ok()?;
        let age = SystemTime::now().duration_since(modified).ok()?;
        Some(age.as_millis() as u64)
    }

    fn pacing(&self) -> Pacing {
        Pacing::LOCAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock_engine::EngineLock;
    use crate::traits::Lock;
    use std::time::Duration;
    use swamp_datastore_types::{HolderIdentity, LockOptions};

    fn who(n: &str) -> HolderIdentity {
        HolderIdentity {
            user: n.into(),
            hostname: "box".into(),
            pid: 7,
        }
    }

    fn opts(ttl: u64, wait: u64) -> LockOptions {
        LockOptions {
            lock_key: None,
            ttl_ms: Some(ttl),
            retry_interval_ms: Some(10),
            max_wait_ms: Some(wait),
        }
    }

    fn open(path: &str, o: &LockOptions, who: HolderIdentity) -> Result<EngineLock<LockDir>> {
        EngineLock::new(LockDir::new(path)?, o, who)
    }

    fn lock(dir: &std::path::Path, o: &LockOptions, name: &str) -> EngineLock<LockDir> {
        open(dir.to_str().unwrap(), o, who(name)).unwrap()
    }

    #[test]
    fn acquire_inspect_release_reacquire() {
        let d = tempfile::tempdir().unwrap();
        let mut l = lock(d.path(), &opts(30_000, 100), "ann");
        assert_eq!(l.inspect().unwrap(), None);
        l.acquire().unwrap();
        let info = l.inspect().unwrap().unwrap();
        assert_eq!(info.holder, "ann@box");
        assert_eq!(info.ttl_ms, 30_000);
        let text = fs::read_to_string(d.path().join(".datastore.lock")).unwrap();
        assert_eq!(text, info.to_json());
        assert!(matches!(l.acquire(), Err(Error::Conflict(_))));
        l.release().unwrap();
        l.release().unwrap(); // idempotent
        assert_eq!(l.inspect().unwrap(), None);
        l.acquire().unwrap();
        assert_ne!(
            l.inspect().unwrap().unwrap().nonce,
            info.nonce,
            "fresh nonce per acquire"
        );
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn contention_times_out_naming_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let mut a = lock(d.path(), &opts(30_000, 100), "ann");
        let mut b = lock(d.path(), &opts(30_000, 120), "bob");
        a.acquire().unwrap();
        match b.acquire() {
            Err(Error::LockTimeout {
                lock_key,
                holder,
                waited_ms,
            }) => {
                assert_eq!(lock_key, ".datastore.lock");
                assert_eq!(holder.unwrap().holder, "ann@box");
                assert!(waited_ms >= 120);
            }
            other => panic!("{other:?}"),
        }
        // b's failed acquire never touched a's lock.
        a.heartbeat().unwrap();
    }

    #[test]
    fn stale_locks_are_taken_over_and_the_old_holder_learns_it() {
        let d = tempfile::tempdir().unwrap();
        let mut a = lock(d.path(), &opts(50, 100), "ann");
        a.acquire().unwrap();
        std::thread::sleep(Duration::from_millis(80));
        let mut b = lock(d.path(), &opts(30_000, 1_000), "bob");
        b.acquire().unwrap();
        assert_eq!(b.inspect().unwrap().unwrap().holder, "bob@box");
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
        // The loser's release must not delete the successor's lock.
        a.release().unwrap();
        assert_eq!(b.inspect().unwrap().unwrap().holder, "bob@box");
        b.heartbeat().unwrap();
    }

    #[test]
    fn heartbeat_renews_acquired_at_and_keeps_the_nonce() {
        let d = tempfile::tempdir().unwrap();
        let mut a = lock(d.path(), &opts(30_000, 100), "ann");
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
        a.acquire().unwrap();
        let before = a.inspect().unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        a.heartbeat().unwrap();
        let after = a.inspect().unwrap().unwrap();
        assert_eq!(after.nonce, before.nonce);
        assert!(iso_time::parse(&after.acquired_at) > iso_time::parse(&before.acquired_at));
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn late_heartbeat_renews_through_the_guarded_path() {
        let d = tempfile::tempdir().unwrap();
        let mut a = lock(d.path(), &opts(100, 100), "ann");
        a.acquire().unwrap();
        std::thread::sleep(Duration::from_millis(85)); // past three quarters of the TTL
        a.heartbeat().unwrap();
        assert_eq!(a.inspect().unwrap().unwrap().holder, "ann@box");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        // Past the TTL and already taken over: lost, successor intact.
        std::thread::sleep(Duration::from_millis(130));
        let mut b = lock(d.path(), &opts(30_000, 1_000), "bob");
        b.acquire().unwrap();
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
        assert_eq!(b.inspect().unwrap().unwrap().holder, "bob@box");
    }

    /// A lock body stamped `age_ms` ago with a TTL of `ttl_ms`.
    fn stamped(age_ms: i64, ttl_ms: u64, nonce: &str) -> Vec<u8> {
        let mut info = LockInfo::new(&who("ann"), ttl_ms, nonce);
        let at = iso_time::now() - time::Duration::milliseconds(age_ms);
        info.acquired_at = iso_time::format_millis(at);
        info.to_json().into_bytes()
    }

    /// Renew `rounds` times a lock stamped `age_ms` into a 10 s lease while
    /// a contender tries its exclusive create without pause; whether the
    /// contender ever got in.
    fn contender_gets_in(age_ms: i64, rounds: usize) -> bool {
        use std::sync::atomic::{AtomicBool, Ordering};
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_str().unwrap().to_string();
        let key = RelPath::parse(".datastore.lock", "lock key").unwrap();
        let mut holder = LockDir::new(&root).unwrap();
        let first = stamped(age_ms, 10_000, "h-0");
        assert!(matches!(holder.create(&key, &first).unwrap(), Cas::Done(_)));
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let contender = s.spawn(|| {
                let mut store = LockDir::new(&root).unwrap();
                let body = stamped(0, 10_000, "contender");
                while !stop.load(Ordering::SeqCst) {
                    if matches!(store.create(&key, &body).unwrap(), Cas::Done(_)) {
                        return true;
                    }
                }
                false
            });
            let mut version = first;
            for round in 1..=rounds {
                // Each round renews a stamp as old as the first, so every
                // renewal takes the same path.
                let old = stamped(age_ms, 10_000, &format!("h-{round}"));
                if !matches!(holder.replace(&key, &version, &old).unwrap(), Cas::Done(_)) {
                    break;
                }
                let renewed = stamped(0, 10_000, &format!("h-{round}"));
                match holder.replace(&key, &old, &renewed).unwrap() {
                    Cas::Done(v) => version = v,
                    _ => break,
                }
                if contender.is_finished() {
                    break;
                }
            }
            stop.store(true, Ordering::SeqCst);
            contender.join().unwrap()
        })
    }

    #[test]
    fn a_heartbeat_two_thirds_into_the_lease_never_lets_a_contender_in() {
        // swamp beats every third of the TTL: this is one a third late.
        assert!(!contender_gets_in(6_700, 300));
    }

    #[test]
    fn a_heartbeat_at_the_end_of_the_lease_may_lose_to_a_contender() {
        // The guarded path leaves the path empty for a moment: the race the
        // test above proves absent is real, so that test can fail.
        assert!(contender_gets_in(9_000, 20_000));
    }

    #[test]
    fn a_lost_holders_release_never_moves_the_successors_file() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".datastore.lock");
        let mut a = lock(d.path(), &opts(50, 100), "ann");
        a.acquire().unwrap();
        std::thread::sleep(Duration::from_millis(80));
        let mut b = lock(d.path(), &opts(30_000, 1_000), "bob");
        b.acquire().unwrap();
        // A rename away and back would change the file's ctime.
        let changed = |m: &fs::Metadata| (m.ctime(), m.ctime_nsec());
        let before = changed(&fs::metadata(&p).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        a.release().unwrap();
        assert_eq!(changed(&fs::metadata(&p).unwrap()), before);
        assert_eq!(b.inspect().unwrap().unwrap().holder, "bob@box");
    }

    #[test]
    fn force_release_only_on_matching_nonce() {
        let d = tempfile::tempdir().unwrap();
        let mut a = lock(d.path(), &opts(30_000, 100), "ann");
        let mut admin = lock(d.path(), &opts(30_000, 100), "root");
        assert!(!admin.force_release("nope").unwrap());
        a.acquire().unwrap();
        assert!(!admin.force_release("nope").unwrap());
        assert!(a.inspect().unwrap().is_some());
        let n = a.inspect().unwrap().unwrap().nonce.unwrap();
        assert!(admin.force_release(&n).unwrap());
        assert_eq!(a.inspect().unwrap(), None);
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
    }

    #[test]
    fn corrupt_lock_is_reported_and_held_until_its_ttl() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".datastore.lock");
        fs::write(&p, "{half a lock").unwrap();
        let mut a = lock(d.path(), &opts(200, 50), "ann");
        match a.inspect() {
            Err(Error::CorruptData(m)) => assert!(m.contains(".datastore.lock")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            a.acquire(),
            Err(Error::LockTimeout { holder: None, .. })
        ));
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "{half a lock",
            "not overwritten"
        );
        std::thread::sleep(Duration::from_millis(250));
        a.acquire().unwrap();
        assert_eq!(a.inspect().unwrap().unwrap().holder, "ann@box");
    }

    #[test]
    fn keys_are_validated_and_nested_keys_create_dirs() {
        let d = tempfile::tempdir().unwrap();
        let mut o = opts(30_000, 100);
        o.lock_key = Some("data/aws/vpc/m1/.lock".into());
        let mut l = lock(d.path(), &o, "ann");
        l.acquire().unwrap();
        assert!(d.path().join("data/aws/vpc/m1/.lock").is_file());
        assert_eq!(l.lock_key(), "data/aws/vpc/m1/.lock");
        for bad in ["../x", "/abs", "a\\b", ""] {
            o.lock_key = Some(bad.into());
            assert!(
                matches!(open("/d", &o, who("a")), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            open("rel", &opts(1, 1), who("a")),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn zero_max_wait_still_tries_once() {
        let d = tempfile::tempdir().unwrap();
        let mut l = lock(d.path(), &opts(30_000, 0), "ann");
        l.acquire().unwrap();
    }
}
