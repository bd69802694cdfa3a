//! The lock protocol of `wit/lock.wit`, written once over a small store.
//!
//! A datastore's lock is a [`LockInfo`](crate::LockInfo) body at a key
//! (`.datastore.lock`, `data/{type}/{id}/.lock`, ...). Everything between
//! the WIT calls and the stored body is the same for every backend, and
//! [`EngineLock`] does it, implementing [`Lock`](crate::Lock):
//!
//! * **acquire** writes a fresh nonce with an exclusive create, retrying
//!   every retry interval (±25 %) until max-wait, and always tries at least
//!   once, however small max-wait is. Then it fails with `lock-timeout`
//!   naming the holder and the time waited. A stale lock (its lease ran
//!   out, see [`Clock`]) is deleted only if it is still the version judged
//!   stale, so a fresh successor is never deleted. Acquiring a lock the
//!   handle already holds is `conflict`.
//! * **heartbeat** rewrites the body (a new `acquiredAt`) only over the
//!   version this handle wrote last: a lock taken over, force-released or
//!   deleted is never written back, and the handle learns `lock-lost`.
//! * **release** deletes the stored lock only while it carries this
//!   handle's nonce; releasing a lock not held succeeds and does nothing.
//! * **force-release** deletes only a lock whose nonce is the one given.
//! * **inspect** reads without side effects; a body that cannot be parsed
//!   is `corrupt-data`.
//! * A body that cannot be parsed (half-written, hand-edited, hostile) is
//!   held by an unknown holder: never overwritten, never taken for "no
//!   lock", removed by an acquire only once it is older than a whole lease
//!   by the store's clock, and then only if unchanged.
//!
//! A backend implements [`LockStore`]: four conditional operations on one
//! key (create if absent, read, replace if unchanged, delete if unchanged)
//! and, where it has one, its own clock. A store for a key-value map with
//! generation numbers is all it takes:
//!
//! ```
//! use std::collections::HashMap;
//! use swamp_datastore_sdk::lock_engine::{Cas, EngineLock, LockStore, Stored};
//! use swamp_datastore_sdk::{HolderIdentity, Lock, LockOptions, RelPath, Result};
//!
//! /// Lock bodies by key, each with the generation that wrote it.
//! #[derive(Default)]
//! struct MapStore {
//!     bodies: HashMap<String, (Vec<u8>, u64)>,
//!     generation: u64,
//! }
//!
//! impl LockStore for MapStore {
//!     type Version = u64;
//!
//!     fn create(&mut self, key: &RelPath, bytes: &[u8]) -> Result<Cas<u64>> {
//!         if self.bodies.contains_key(key.as_str()) {
//!             return Ok(Cas::Refused);
//!         }
//!         self.generation += 1;
//!         self.bodies.insert(key.to_string(), (bytes.to_vec(), self.generation));
//!         Ok(Cas::Done(self.generation))
//!     }
//!
//!     fn read(&mut self, key: &RelPath) -> Result<Option<Stored<u64>>> {
//!         Ok(self.bodies.get(key.as_str()).map(|(bytes, generation)| Stored {
//!             bytes: bytes.clone(),
//!             version: *generation,
//!         }))
//!     }
//!
//!     fn replace(&mut self, key: &RelPath, version: &u64, bytes: &[u8]) -> Result<Cas<u64>> {
//!         if self.bodies.get(key.as_str()).map(|(_, g)| g) != Some(version) {
//!             return Ok(Cas::Refused);
//!         }
//!         self.generation += 1;
//!         self.bodies.insert(key.to_string(), (bytes.to_vec(), self.generation));
//!         Ok(Cas::Done(self.generation))
//!     }
//!
//!     fn delete(&mut self, key: &RelPath, version: &u64) -> Result<Cas<()>> {
//!         if self.bodies.get(key.as_str()).map(|(_, g)| g) != Some(version) {
//!             return Ok(Cas::Refused);
//!         }
//!         self.bodies.remove(key.as_str());
//!         Ok(Cas::Done(()))
//!     }
//! }
//!
//! let who = HolderIdentity { user: "ann".into(), hostname: "box".into(), pid: 7 };
//! let mut lock = EngineLock::new(MapStore::default(), &LockOptions::default(), who)?;
//! lock.acquire()?;
//! assert_eq!(lock.inspect()?.unwrap().holder, "ann@box");
//! lock.heartbeat()?;
//! lock.release()?;
//! assert_eq!(lock.inspect()?, None);
//! # Ok::<(), swamp_datastore_sdk::Error>(())
//! ```
//!
//! A provider then returns `Box::new(EngineLock::new(store, &options,
//! identity)?)` from `create_lock`. A datastore whose locks are files in a
//! directory uses [`LockDir`], as fs-datastore does; the S3 datastore
//! (`guest/s3/src/lock.rs`) has a store of its own.

mod dir;
mod engine;
#[cfg(test)]
mod tests;

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::rel_path::RelPath;

pub use dir::LockDir;
pub use engine::{ACQUIRE_OVERRUN_MS, EngineLock, HOLDER_READ_MS};

/// What a conditional store operation did.
#[derive(Debug)]
pub enum Cas<V> {
    /// It happened; for a create or replace, the version now stored (for a
    /// delete, `()`).
    Done(V),
    /// Its condition failed: for a create, a lock is stored; for a replace
    /// or delete, the stored lock is absent or not at the version given.
    /// Nothing was changed.
    Refused,
    /// No answer (a timeout, a lost connection, a 5xx): it may or may not
    /// have happened. The engine reads the lock to find out; the error is
    /// what it reports when it cannot tell.
    Unknown(Error),
}

/// A stored lock body and the version that identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<V> {
    /// The body exactly as stored (it may not parse).
    pub bytes: Vec<u8>,
    /// What a later replace or delete names to act only on this body.
    pub version: V,
}

/// Whose clock decides that a lock's lease ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The store has no clock of its own (a directory, a share): a lock is
    /// stale once its `acquiredAt` is more than its `ttlMs` behind this
    /// machine's clock, as swamp's own file lock judges it. A body that
    /// cannot be parsed has no `acquiredAt`; it is stale once
    /// [`LockStore::age_ms`] says it is older than this handle's TTL (it
    /// may be a body still being written by a client without atomic
    /// publish) and held for good when the store cannot tell its age.
    Holder,
    /// The store's own clock (an object store's `Date` against the
    /// object's `Last-Modified`): a lock is stale once its age by
    /// [`LockStore::age_ms`] exceeds the holder's `ttlMs` plus
    /// `resolution_ms`, the clock's granularity. A body that cannot be
    /// parsed gets swamp's default TTL. A lock whose age the store cannot
    /// tell is never stale. Machines with skewed clocks then still agree.
    Store {
        /// Added to every lease: the store's clock ticks this coarsely
        /// (1000 for HTTP dates).
        resolution_ms: u64,
    },
}

/// How an acquire spaces its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacing {
    /// The pause while the lock is held starts at the retry interval and
    /// doubles up to this many times it (1 keeps it constant). Every pause
    /// is jittered ±25 % and ends by max-wait.
    pub backoff_cap: u64,
    /// Pause (ms, drawn at random from the range) after deleting a stale
    /// lock, so that the old holder's late heartbeat and other contenders
    /// settle before the next create; `0..=0` tries again at once.
    pub after_takeover_ms: RangeInclusive<u64>,
    /// Pause (ms, drawn at random) when the lock vanished between a
    /// refused create and the read, so that contenders that all saw it go
    /// do not collide in lockstep; `0..=0` tries again at once.
    pub after_vanished_ms: RangeInclusive<u64>,
}

impl Pacing {
    /// For a store on this machine or a share: a constant pause, and a new
    /// attempt at once when the lock was freed or taken over.
    pub const LOCAL: Pacing = Pacing {
        backoff_cap: 1,
        after_takeover_ms: 0..=0,
        after_vanished_ms: 0..=0,
    };
    /// For a store across a network, where every attempt is a request:
    /// pauses doubling up to 4× the retry interval, 200–500 ms after a
    /// takeover, up to 49 ms when the lock vanished.
    pub const REMOTE: Pacing = Pacing {
        backoff_cap: 4,
        after_takeover_ms: 200..=500,
        after_vanished_ms: 0..=49,
    };
}

/// Where lock bodies live: four conditional operations on one key, all
/// atomic against every other writer of the store, plus optional hooks
/// with defaults. The key is a validated relative path (the lock key of
/// `wit/lock.wit`); where it lands (a file below the datastore directory,
/// an object below the bucket prefix) is the store's business.
///
/// The engine never writes a body it did not just read or create under a
/// condition, so a store without compare-and-swap must emulate the
/// conditions (see [`LockDir`] for a directory). A body at
/// another version must stay in place throughout, not even moved away for
/// a moment: a release by a holder that lost its lock calls `delete` on
/// the successor's lock, and a gap there lets a third holder in.
pub trait LockStore {
    /// What identifies one stored body, so that a replace or delete acts
    /// only on that body: an ETag, a generation number, or the bytes
    /// themselves for a store that has no versions.
    type Version: Clone;

    /// Store `bytes` at `key` only if nothing is stored there: `Done` with
    /// the new version, `Refused` when a lock exists. Readers must never
    /// see part of the body as a complete lock (a partial body that does
    /// not parse is held, which is safe).
    fn create(&mut self, key: &RelPath, bytes: &[u8]) -> Result<Cas<Self::Version>>;

    /// The body at `key` and its version; `None` when nothing is stored.
    fn read(&mut self, key: &RelPath) -> Result<Option<Stored<Self::Version>>>;

    /// Replace the body at `key` with `bytes` only if it is still at
    /// `version`: `Done` with the new version, `Refused` when it is absent
    /// or at another version. Used by heartbeats.
    fn replace(
        &mut self,
        key: &RelPath,
        version: &Self::Version,
        bytes: &[u8],
    ) -> Result<Cas<Self::Version>>;

    /// Delete the body at `key` only if it is still at `version`:
    /// `Refused` when it is absent or at another version.
    fn delete(&mut self, key: &RelPath, version: &Self::Version) -> Result<Cas<()>>;

    /// Where `key` lives, for messages (`/data/.datastore.lock`,
    /// `s3://bucket/prefix/.datastore.lock`). Default: the key itself.
    fn describe(&self, key: &RelPath) -> String {
        key.to_string()
    }

    /// Whose clock judges staleness. Default: [`Clock::Holder`].
    fn clock(&self) -> Clock {
        Clock::Holder
    }

    /// The age in ms of the body at `key` at `version` by the store's own
    /// clock, `None` when the store cannot tell. See [`Clock`] for when it
    /// is asked. Default: unknown.
    fn age_ms(&mut self, _key: &RelPath, _version: &Self::Version) -> Option<u64> {
        None
    }

    /// How an acquire spaces its attempts. Default: [`Pacing::REMOTE`].
    fn pacing(&self) -> Pacing {
        Pacing::REMOTE
    }

    /// Wait `pause` between attempts. Default: the thread sleeps (inside a
    /// component, a wasi:clocks poll).
    fn sleep(&mut self, pause: Duration) {
        std::thread::sleep(pause)
    }

    /// Every operation from now on should finish by `end` (`None`: the
    /// store's own bounds). The engine sets it when an acquire starts (its
    /// max-wait plus [`ACQUIRE_OVERRUN_MS`]) and clears it when the
    /// acquire ends. Default: ignored.
    fn set_deadline(&mut self, _end: Option<Instant>) {}
}
