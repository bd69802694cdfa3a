//! A complete sync engine between a local cache directory and any
//! [`RemoteStore`], in swamp's S3 layout (data at `[{ns}/]{rel}`, the
//! monolithic index `[{ns}/].datastore-index.json` or, once `_meta.json`
//! says version 2, the index shards `[{ns}/]_index/{partition}.json` —
//! [`shards`]), shared by every datastore guest that has a remote side.
//!
//! What it guarantees, and where:
//! * dirty tracking by the eight mark-dirty rules, persisted — [`dirty`];
//! * three-way decisions against the last synced state, so pull never
//!   overwrites unpushed edits and deletions propagate — [`decide`];
//! * content compared by SHA-256, never by size alone;
//! * O(1) zero-diff calls: a clean push touches nothing remote, a pull
//!   compares one fingerprint — `engine`;
//! * index writes by compare-and-swap with re-read and merge, so no other
//!   writer's entries are lost;
//! * atomic local writes (temp file, fsync, rename).

pub mod base;
pub mod base_summary;
pub mod decide;
pub mod dirty;
mod engine;
pub mod index;
pub mod local;
#[cfg(test)]
pub(crate) mod memory;
pub mod remote;
pub mod rules;
pub mod shards;
pub mod state;

pub use engine::SyncEngine;
pub use remote::{
    CasOutcome, ContentHash, Fingerprint, Fresh, HashingReader, HashingWriter, RemoteObject,
    RemoteStore, Sent, Transfer, Versioned,
};
