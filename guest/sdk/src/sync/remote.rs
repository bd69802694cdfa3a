//! The remote side of a sync, as small as a backend can implement: object
//! get/put/delete/list by key, plus a version fingerprint and a
//! compare-and-swap write for the index. A shared directory, an S3 bucket
//! or (in unit tests) a map all fit.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What an upload sent: the SHA-256 and length of exactly the bytes the
/// store received, taken while they were read for sending. A push records
/// these in the index, so a file the remote has never seen is read once
/// (to upload it), not twice (to hash it first, then to upload it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Lowercase hex SHA-256 of the bytes sent.
    pub sha256: String,
    /// Number of bytes sent.
    pub size: u64,
}

impl Sent {
    /// The hash and length of `bytes`.
    pub fn of(bytes: &[u8]) -> Sent {
        let mut h = ContentHash::default();
        h.update(bytes);
        h.finish()
    }
}

/// A [`Sent`] in the making: SHA-256 and length of the bytes fed so far.
#[derive(Clone, Default)]
pub struct ContentHash {
    hash: Sha256,
    size: u64,
}

impl ContentHash {
    /// Feed the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
        self.size += bytes.len() as u64;
    }
    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.size
    }
    /// True when nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    /// The hash and length of everything fed.
    pub fn finish(self) -> Sent {
        Sent {
            sha256: hex::encode(self.hash.finalize()),
            size: self.size,
        }
    }
}

/// A writer that hashes and counts what passes through it, for stores
/// that stream a download (see [`RemoteStore::get_to_file`]).
pub struct HashingWriter<W> {
    inner: W,
    hash: ContentHash,
}

impl<W> HashingWriter<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hash: ContentHash::default(),
        }
    }
    /// Forget what was written so far (a download that starts over).
    pub fn restart(&mut self) {
        self.hash = ContentHash::default();
    }
    /// The wrapped writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
    /// What was written so far.
    pub fn written(self) -> Sent {
        self.hash.finish()
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes through it, for stores
/// that stream an upload (see [`Sent`]).
pub struct HashingReader<R> {
    inner: R,
    hash: ContentHash,
}

impl<R: Read> HashingReader<R> {
    /// Wrap `inner`.
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            hash: ContentHash::default(),
        }
    }
    /// What was read so far.
    pub fn sent(self) -> Sent {
        self.hash.finish()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

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

/// An object's bytes and the fingerprint of exactly those bytes.
pub type Versioned = (Vec<u8>, Fingerprint);

/// One file transfer of a batch: the object `key` and a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Object key.
    pub key: String,
    /// Local file: read for an upload; for a download, (re)created and
    /// filled with the object's bytes (the caller renames it into place).
    pub path: PathBuf,
}

/// What [`RemoteStore::get_if_changed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fresh {
    /// Still at the fingerprint the caller knows.
    Unchanged,
    /// Changed: its bytes and fingerprint now (`None`: absent).
    Now(Option<(Vec<u8>, Fingerprint)>),
}

/// Create (or truncate) `dest` and write `bytes` into it; their hash and
/// length.
fn write_new_file(dest: &Path, bytes: &[u8]) -> Result<Sent> {
    let mut f =
        crate::write_file::WriteFile::create(dest).map_err(|e| Error::io(dest.display(), e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io(dest.display(), e))?;
    Ok(Sent::of(bytes))
}

/// A remote object store. Keys are forward-slash paths relative to the
/// store's root (a bucket prefix, a share directory).
///
/// Only the first block of methods is required. The batch and file
/// methods have sequential defaults built on them (whole files in memory);
/// a network store overrides them to run requests concurrently and to
/// stream file bodies.
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

    /// [`get_versioned`](Self::get_versioned), unless the object still has
    /// the fingerprint `known`: then [`Fresh::Unchanged`] and no body. The
    /// default asks [`fingerprint`](Self::fingerprint) first; a network
    /// store overrides it with one conditional read.
    fn get_if_changed(&mut self, key: &str, known: &Fingerprint) -> Result<Fresh> {
        match self.fingerprint(key)? {
            Some(fp) if &fp == known => Ok(Fresh::Unchanged),
            _ => Ok(Fresh::Now(self.get_versioned(key)?)),
        }
    }

    /// Create `key` only if it does not exist, atomically against every
    /// other writer; true when this call created it. The default is the
    /// conditional write with no expected version; a store whose `put_if`
    /// serialises through a side file overrides it with a plain exclusive
    /// create.
    fn put_if_absent(&mut self, key: &str, bytes: &[u8]) -> Result<bool> {
        Ok(matches!(
            self.put_if(key, bytes, None)?,
            CasOutcome::Written(_)
        ))
    }

    /// Every request from now on must finish by `end` (`None`: no limit
    /// beyond the store's own timeouts). The engine sets it per call.
    fn set_deadline(&mut self, _end: Option<Instant>) {}

    /// Several objects with their fingerprints, in the order of `keys`
    /// (`None` for an absent one). Used for index shards.
    fn get_many(&mut self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        keys.iter().map(|k| self.get_versioned(k)).collect()
    }

    /// Upload the file at `path` as `key`; what was sent.
    fn put_file(&mut self, key: &str, path: &Path) -> Result<Sent> {
        let bytes = fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        self.put(key, &bytes)?;
        Ok(Sent::of(&bytes))
    }

    /// Write object `key` into a new file at `dest` (created or truncated;
    /// the caller makes it durable and renames it). `None` when absent (no
    /// file is left behind then); else the hash and length of the bytes
    /// written (taken as they were written, so the caller need not read
    /// the file back).
    fn get_to_file(&mut self, key: &str, dest: &Path) -> Result<Option<Sent>> {
        let Some(bytes) = self.get(key)? else {
            return Ok(None);
        };
        write_new_file(dest, &bytes).map(Some)
    }

    /// [`get_to_file`](Self::get_to_file) with the fingerprint of exactly
    /// the bytes written, for the v1 monolith index, which the engine
    /// keeps on disk rather than in memory (`engine/monolith_file.rs`).
    /// The default holds the object in memory on the way; a store that can
    /// stream a body with its version overrides it.
    fn get_to_file_versioned(
        &mut self,
        key: &str,
        dest: &Path,
    ) -> Result<Option<(Sent, Fingerprint)>> {
        let Some((bytes, fp)) = self.get_versioned(key)? else {
            return Ok(None);
        };
        Ok(Some((write_new_file(dest, &bytes)?, fp)))
    }

    /// [`put_if`](Self::put_if) of the bytes of the file at `path`. The
    /// default reads the file into memory; a store overrides it to hold
    /// no more than one copy of the body at a time.
    fn put_file_if(
        &mut self,
        key: &str,
        path: &Path,
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let bytes = fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        self.put_if(key, &bytes, expected)
    }

    /// Upload a batch; one result per item, in order.
    fn upload_many(&mut self, items: &[Transfer]) -> Vec<Result<Sent>> {
        items
            .iter()
            .map(|t| self.put_file(&t.key, &t.path))
            .collect()
    }

    /// Download a batch (see [`RemoteStore::get_to_file`]); one result per
    /// item, in order.
    fn download_many(&mut self, items: &[Transfer]) -> Vec<Result<Option<Sent>>> {
        items
            .iter()
            .map(|t| self.get_to_file(&t.key, &t.path))
            .collect()
    }

    /// Delete a batch; one result per key, in order.
    fn delete_many(&mut self, keys: &[String]) -> Vec<Result<()>> {
        keys.iter().map(|k| self.delete(k)).collect()
    }
}
