//! The directory as the remote store of the SDK's sync engine
//! (`swamp_datastore_sdk::sync`): objects are files at `{path}/{key}`.
//! Replace it with your backend's get, put, delete and list.

use std::path::PathBuf;

use swamp_datastore_sdk::lock_engine::{Cas, EngineLock, LockDir, LockStore};
use swamp_datastore_sdk::sync::local::{hash_file, prune_empty_dirs, sha256_hex, walk_objects};
use swamp_datastore_sdk::sync::{CasOutcome, Fingerprint, RemoteObject, RemoteStore};
use swamp_datastore_sdk::{Lock, LockOptions, RelPath, Result, atomic_file, host};

pub struct DirRemote {
    root: PathBuf,
    /// The same directory as a store of lock files, for `put_if`.
    locks: LockDir,
}

impl DirRemote {
    pub fn new(path: &str) -> Result<DirRemote> {
        let locks = LockDir::new(path)?;
        let root = path.into();
        Ok(DirRemote { root, locks })
    }

    fn path(&self, key: &str) -> PathBuf {
        key.split('/').fold(self.root.clone(), |p, s| p.join(s))
    }
}

impl RemoteStore for DirRemote {
    fn describe(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        atomic_file::read_optional(&self.path(key))
    }

    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        atomic_file::write_atomic(&self.path(key), bytes)
    }

    fn delete(&mut self, key: &str) -> Result<()> {
        let path = self.path(key);
        atomic_file::remove_if_present(&path)?;
        if let Some(dir) = path.parent() {
            prune_empty_dirs(&self.root, dir);
        }
        Ok(())
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>> {
        let mut out = Vec::new();
        for key in walk_objects(&self.root, prefix.trim_end_matches('/'))? {
            // A file deleted while listing is simply not there.
            if let Ok((sha256, size)) = hash_file(&self.path(&key)) {
                out.push(RemoteObject {
                    key,
                    size,
                    last_modified: String::new(), // unknown
                    sha256: Some(sha256),
                });
            }
        }
        Ok(out)
    }

    /// A file's fingerprint is the hash of its bytes: equal fingerprints
    /// then mean equal content, as the engine requires.
    fn get_versioned(&mut self, key: &str) -> Result<Option<(Vec<u8>, Fingerprint)>> {
        let bytes = self.get(key)?;
        Ok(bytes.map(|b| {
            let fingerprint = Fingerprint(sha256_hex(&b));
            (b, fingerprint)
        }))
    }

    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        Ok(self.get_versioned(key)?.map(|(_, fingerprint)| fingerprint))
    }

    /// The index's compare-and-swap. A directory has none, so writers take
    /// turns under a lock of our own (the same lock engine as lock.rs) at
    /// `[{namespace}/]_index/.lock`, a name sync never copies.
    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        // The index's root: "" or a namespace (shards live in `_index/`).
        let dir = key.rsplit_once('/').map_or("", |(dir, _)| dir);
        let root = match dir {
            "_index" => "",
            dir => dir.strip_suffix("/_index").unwrap_or(dir),
        };
        let lock_key = match root {
            "" => "_index/.lock".to_string(),
            root => format!("{root}/_index/.lock"),
        };
        let options = LockOptions {
            lock_key: Some(lock_key),
            ttl_ms: Some(30_000),
            retry_interval_ms: Some(5),
            max_wait_ms: Some(10_000),
        };
        let mut mutex = EngineLock::new(self.locks.clone(), &options, host::identity())?;
        mutex.acquire()?;
        let written = Fingerprint(sha256_hex(bytes));
        let outcome = match self.fingerprint(key) {
            Ok(current) if current.as_ref() != expected => Ok(CasOutcome::Conflict),
            Ok(_) => self.put(key, bytes).map(|()| CasOutcome::Written(written)),
            Err(e) => Err(e),
        };
        mutex.release()?;
        outcome
    }

    /// An exclusive create, the lock files' own primitive.
    fn put_if_absent(&mut self, key: &str, bytes: &[u8]) -> Result<bool> {
        let key = RelPath::parse(key, "key")?;
        Ok(matches!(self.locks.create(&key, bytes)?, Cas::Done(_)))
    }
}
