//! Direct access to a datastore's stored objects, beneath the component:
//! how a check plants or alters what a crashed writer, another client or an
//! attacker could leave (a corrupt lock, a hostile index, a file altered
//! behind the index) and looks at where the component put its locks. A
//! datastore in a local directory gets it through the filesystem; for one
//! elsewhere (a bucket) whoever runs the suite may give one
//! ([`crate::Subject::raw_store`]); without it those checks skip.

use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// The objects of the datastore a config names, by key relative to its
/// root (the directory, or the bucket prefix): the layout swamp's own
/// datastores share (`.datastore.lock`, `.datastore-index.json`,
/// `data/...`).
pub trait RawStore: Send + Sync {
    /// The object at `key`, `None` when absent.
    fn get(&self, config: &Value, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Create or replace the object at `key`.
    fn put(&self, config: &Value, key: &str, bytes: &[u8]) -> Result<(), String>;
    /// Where `key` is, for messages.
    fn describe(&self, config: &Value, key: &str) -> String;
}

/// One check's datastore through a [`RawStore`].
#[derive(Clone)]
pub struct Raw {
    pub(crate) store: Arc<dyn RawStore>,
    pub(crate) config: Value,
}

impl Raw {
    /// The bytes stored at `key` in this check's datastore, `None` when
    /// there is no such object.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store.get(&self.config, key)
    }
    /// Create or replace the object at `key` with `bytes`, beneath the
    /// component and without going through it.
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        self.store.put(&self.config, key, bytes)
    }
    /// Where `key` is stored, for failure messages (a file path when the
    /// datastore is a local directory).
    pub fn describe(&self, key: &str) -> String {
        self.store.describe(&self.config, key)
    }
}

/// A datastore that is a local directory.
pub(crate) struct DirStore(pub(crate) PathBuf);

impl DirStore {
    fn path(&self, key: &str) -> PathBuf {
        let mut p = self.0.clone();
        p.extend(key.split('/'));
        p
    }
}

impl RawStore for DirStore {
    fn get(&self, _: &Value, key: &str) -> Result<Option<Vec<u8>>, String> {
        match std::fs::read(self.path(key)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.path(key).display())),
        }
    }
    fn put(&self, _: &Value, key: &str, bytes: &[u8]) -> Result<(), String> {
        let p = self.path(key);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))
    }
    fn describe(&self, _: &Value, key: &str) -> String {
        self.path(key).display().to_string()
    }
}
