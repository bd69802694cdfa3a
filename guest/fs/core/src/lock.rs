//! The file lock (reference b.2, with the b.7 fixes): a lock file at
//! `{datastore}/{key}` holding swamp's `LockInfo` JSON.
//!
//! * Create: the body is written to a temporary file and hard-linked into
//!   place, so the lock appears atomically with its full content and only
//!   if absent.
//! * Every destructive step (stale takeover, release, force-release,
//!   heartbeat) first reads the lock, decides on what it read, and then
//!   removes the file only if it still holds those exact bytes
//!   ([`claim::remove_if_same`]): a successor's fresh lock is never deleted
//!   or overwritten.
//! * Staleness compares the holder's `acquiredAt` with our wall clock, as
//!   swamp does; no pid probing (a pid from another host means nothing).
//! * Timing of waits uses the monotonic clock.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use swamp_datastore_sdk::{
    Error, HolderIdentity, Lock, LockInfo, LockOptions, RelPath, Result, atomic_file, iso_time,
    nonce,
};

use crate::claim;

/// What the lock file holds right now.
enum Current {
    Absent,
    Valid(LockInfo, Vec<u8>),
    /// Unparseable, with the age of the file by its mtime.
    Corrupt(Vec<u8>, u64, Error),
}

/// A lock on one key of one datastore directory.
pub struct FileLock {
    key: RelPath,
    path: PathBuf,
    ttl_ms: u64,
    retry_ms: u64,
    max_wait_ms: u64,
    who: HolderIdentity,
    /// The nonce of the lock this handle holds.
    held: Option<String>,
}

impl FileLock {
    /// A lock on `options.lock_key` below `datastore_path`. No I/O.
    pub fn new(
        datastore_path: &str,
        options: &LockOptions,
        who: HolderIdentity,
    ) -> Result<FileLock> {
        if !datastore_path.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "datastore path {datastore_path:?} must be absolute"
            )));
        }
        let key = RelPath::parse(options.key(), "lock key")?;
        Ok(FileLock {
            path: key.under(&PathBuf::from(datastore_path)),
            key,
            ttl_ms: options.ttl(),
            retry_ms: options.retry_interval(),
            max_wait_ms: options.max_wait(),
            who,
            held: None,
        })
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self) -> Result<Current> {
        let Some(bytes) = atomic_file::read_optional(&self.path)? else {
            return Ok(Current::Absent);
        };
        match LockInfo::parse(&bytes, &self.describe()) {
            Ok(info) => Ok(Current::Valid(info, bytes)),
            Err(e) => {
                let age = fs::metadata(&self.path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                Ok(Current::Corrupt(bytes, age, e))
            }
        }
    }

    /// Write a new lock for `nonce` if none exists.
    fn try_create(&self, nonce: &str) -> Result<bool> {
        let body = LockInfo::new(&self.who, self.ttl_ms, nonce).to_json();
        let tmp = atomic_file::write_temp(&self.path, body.as_bytes())?;
        claim::publish_exclusive(&tmp, &self.path, body.as_bytes())
    }

    /// Pause before the next attempt: the retry interval ±25 %, never past
    /// the deadline.
    fn pause(&self, remaining_ms: u64) {
        let base = self.retry_ms.max(1);
        let jitter = base / 2;
        let ms = (base - base / 4).saturating_add(nonce::random_below(jitter.saturating_add(1)));
        std::thread::sleep(Duration::from_millis(ms.min(remaining_ms).max(1)));
    }

    fn holder_now(&self) -> Option<LockInfo> {
        match self.read() {
            Ok(Current::Valid(info, _)) => Some(info),
            _ => None,
        }
    }
}

impl Lock for FileLock {
    fn acquire(&mut self) -> Result<()> {
        if self.held.is_some() {
            return Err(Error::Conflict(format!(
                "lock {} is already held by this handle; release it first",
                self.key
            )));
        }
        let nonce = nonce::new_nonce();
        let start = Instant::now();
        let mut first = true;
        loop {
            let waited = start.elapsed().as_millis() as u64;
            // The deadline is checked at the top of every iteration after
            // the first attempt (a zero max-wait still tries once).
            if !first && waited >= self.max_wait_ms {
                return Err(Error::LockTimeout {
                    lock_key: self.key.to_string(),
                    holder: self.holder_now(),
                    waited_ms: waited,
                });
            }
            first = false;
            if self.try_create(&nonce)? {
                self.held = Some(nonce);
                return Ok(());
            }
            match self.read()? {
                // Released between our create and our read: try again now.
                Current::Absent => continue,
                Current::Valid(info, bytes) => {
                    if info.is_stale(iso_time::now()) {
                        claim::remove_if_same(&self.path, &bytes)?;
                        continue;
                    }
                }
                // A lock nobody can parse is treated as held until the file
                // itself is older than this handle's TTL: it may be a body
                // still being written by a client without atomic publish, and
                // deleting it early would break that holder's lock. It is
                // never overwritten in place; once old, it is removed only if
                // still byte-identical.
                Current::Corrupt(bytes, age_ms, _) => {
                    if age_ms > self.ttl_ms {
                        claim::remove_if_same(&self.path, &bytes)?;
                        continue;
                    }
                }
            }
            let remaining = self
                .max_wait_ms
                .saturating_sub(start.elapsed().as_millis() as u64);
            self.pause(remaining);
        }
    }

    fn release(&mut self) -> Result<()> {
        let Some(nonce) = self.held.take() else {
            return Ok(()); // not held: nothing to do
        };
        if let Current::Valid(info, bytes) = self.read()?
            && info.nonce.as_deref() == Some(nonce.as_str())
        {
            claim::remove_if_same(&self.path, &bytes)?;
        }
        // Anything else is a successor's lock (or none): left alone.
        Ok(())
    }

    fn inspect(&self) -> Result<Option<LockInfo>> {
        match self.read()? {
            Current::Absent => Ok(None),
            Current::Valid(info, _) => Ok(Some(info)),
            Current::Corrupt(_, _, e) => Err(e),
        }
    }

    fn force_release(&mut self, expected_nonce: &str) -> Result<bool> {
        let Current::Valid(info, bytes) = self.read()? else {
            return Ok(false);
        };
        if info.nonce.as_deref() != Some(expected_nonce) {
            return Ok(false);
        }
        let removed = claim::remove_if_same(&self.path, &bytes)?;
        if removed && self.held.as_deref() == Some(expected_nonce) {
            self.held = None;
        }
        Ok(removed)
    }

    fn heartbeat(&mut self) -> Result<()> {
        let Some(nonce) = self.held.clone() else {
            return Err(Error::LockLost(format!(
                "lock {} is not held by this handle",
                self.key
            )));
        };
        let (info, bytes) = match self.read()? {
            Current::Valid(info, bytes) if info.nonce.as_deref() == Some(nonce.as_str()) => {
                (info, bytes)
            }
            Current::Valid(info, _) => {
                self.held = None;
                return Err(Error::LockLost(format!(
                    "lock {} was taken over by {} (pid {})",
                    self.key, info.holder, info.pid
                )));
            }
            _ => {
                self.held = None;
                return Err(Error::LockLost(format!(
                    "lock file {} is gone or unreadable",
                    self.describe()
                )));
            }
        };
        let age_ms = info.age_ms(iso_time::now());
        let mut renewed = info;
        renewed.acquired_at = iso_time::now_millis();
        renewed.ttl_ms = self.ttl_ms;
        let body = renewed.to_json();
        if age_ms.saturating_mul(2) <= self.ttl_ms {
            // Well inside the lease nobody may take the lock over, so a
            // rename over the file is safe, and the lock file never
            // disappears: contenders keep failing their exclusive create.
            return atomic_file::write_atomic(&self.path, body.as_bytes());
        }
        // Late in the lease (or past it) a contender may be taking the lock
        // over right now. Then replace the file only if it still holds the
        // bytes we read, and publish the renewal exclusively: we may lose
        // the lock to a racing contender, but two holders never coexist.
        let tmp = atomic_file::write_temp(&self.path, body.as_bytes())?;
        if !claim::remove_if_same(&self.path, &bytes)? {
            let _ = fs::remove_file(&tmp);
            self.held = None;
            return Err(Error::LockLost(format!(
                "lock {} changed hands during the heartbeat",
                self.key
            )));
        }
        if !claim::publish_exclusive(&tmp, &self.path, body.as_bytes())? {
            self.held = None;
            return Err(Error::LockLost(format!(
                "lock {} was taken by another process during the heartbeat",
                self.key
            )));
        }
        Ok(())
    }

    fn lock_key(&self) -> String {
        self.key.to_string()
    }

    fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn lock(dir: &std::path::Path, o: &LockOptions, name: &str) -> FileLock {
        FileLock::new(dir.to_str().unwrap(), o, who(name)).unwrap()
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
        let mut a = lock(d.path(), &opts(60, 100), "ann");
        a.acquire().unwrap();
        std::thread::sleep(Duration::from_millis(40)); // past half the TTL
        a.heartbeat().unwrap();
        assert_eq!(a.inspect().unwrap().unwrap().holder, "ann@box");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
        // Past the TTL and already taken over: lost, successor intact.
        std::thread::sleep(Duration::from_millis(80));
        let mut b = lock(d.path(), &opts(30_000, 1_000), "bob");
        b.acquire().unwrap();
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
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
                matches!(
                    FileLock::new("/d", &o, who("a")),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            FileLock::new("rel", &opts(1, 1), who("a")),
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
