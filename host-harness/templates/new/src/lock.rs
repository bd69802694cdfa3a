//! Locks. The SDK's lock engine (`swamp_datastore_sdk::lock_engine`) runs
//! the whole protocol (retries, stale takeover, fencing, fresh nonces) over
//! a store of four conditional operations: create if absent, read, replace
//! if unchanged, delete if unchanged. Here the store is the SDK's
//! `LockDir`: a lock file at `{datastore}/{key}` holding swamp's LockInfo
//! JSON, where swamp's own filesystem datastore keeps it. For another
//! backend, implement `LockStore` for it (`LockDir`'s source in the SDK,
//! `lock_engine/dir.rs`, is a worked example) and pass that instead.

use swamp_datastore_sdk::lock_engine::{EngineLock, LockDir};
use swamp_datastore_sdk::{LockOptions, Result, host};

/// A lock on `options.lock_key` below `datastore_path`. No I/O.
pub fn open(datastore_path: &str, options: &LockOptions) -> Result<EngineLock<LockDir>> {
    EngineLock::new(LockDir::new(datastore_path)?, options, host::identity())
}
