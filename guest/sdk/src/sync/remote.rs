//! The remote side of a sync, as small as a backend can implement: object
//! get/put/delete/list by key, plus a version fingerprint and a
//! compare-and-swap write for the index. A shared directory, an S3 bucket
//! or (in unit tests) a map all fit.

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Opaque version of a remote object (an ETag, a GCS generation, a file's
/// stat signature). Equal fingerprints mean unchanged content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

/// One object found by [`RemoteStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// Full key (including any namespace prefix).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ISO-8601 time of the last change, "" when unknown.
    pub last_modified: String,
    /// SHA-256 hex, when the backend can tell cheaply.
    pub sha256: Option<String>,
}

/// Result of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; the object's new fingerprint.
    Written(Fingerprint),
    /// The object was not at the expected version; nothing was written.
    Conflict,
}

/// A remote object store. Keys are forward-slash paths relative to the
/// store's root (a bucket prefix, a share directory).
pub trait RemoteStore {
    /// Where `key` lives, for messages (`/share/a/b`, `s3://bucket/p/a/b`).
    fn describe(&self, key: &str) -> String;
    /// The object's bytes, `None` when absent.
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Create or replace an object, atomically for readers.
    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()>;
    /// Delete an object; deleting an absent one succeeds.
    fn delete(&mut self, key: &str) -> Result<()>;
    /// Every object whose key starts with `prefix` ("" or a `dir/`).
    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>>;
    /// The object's bytes and the fingerprint of exactly those bytes.
    fn get_versioned(&mut self, key: &str) -> Result<Option<(Vec<u8>, Fingerprint)>>;
    /// The current fingerprint, cheaply (a HEAD or a stat); `None` when absent.
    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>>;
    /// Write only if the object is at `expected` (`None`: only if absent).
    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome>;
}
