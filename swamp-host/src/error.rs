//! Errors of the embedding library.
//!
//! A guest's own failures arrive as the WIT `error` variant and are mapped,
//! case for case, into [`DatastoreError`]; failures of the host or of the
//! sandbox (a trap, a deadline, a load error) are [`HostError`] cases of
//! their own, so a caller can always tell "the datastore said no" from "the
//! plugin misbehaved".

use crate::types::{ConfigProblem, LockInfo};
use std::time::Duration;

/// The typed error a datastore guest returned (the WIT `error` variant).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DatastoreError {
    /// An acquire waited its whole max-wait and the lock was still held by
    /// someone else.
    #[error("{}", lock_timeout_message(.lock_key, .holder.as_deref(), *.waited_ms))]
    LockTimeout {
        /// The lock key the acquire wanted, without any bucket prefix.
        lock_key: String,
        /// The holder when the acquire gave up, or `None` when its lock
        /// could not be read. Boxed: a lock info is large and errors travel
        /// by value.
        holder: Option<Box<LockInfo>>,
        /// How long the acquire waited before giving up, in milliseconds.
        waited_ms: u64,
    },
    /// The lock this handle held was taken over or force-released; the
    /// caller must stop the work the lock protected. The text says how.
    #[error("lock lost: {0}")]
    LockLost(String),
    /// The guest rejected its config; every problem is listed with the JSON
    /// Pointer of the offending value.
    #[error("invalid config: {}", problems_message(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// The guest refused an argument of the call (for example a `rel_path`
    /// that is absolute or contains `..`, or a malformed namespace).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Something the call needs does not exist, such as the datastore
    /// directory or the bucket.
    #[error("not found: {0}")]
    NotFound(String),
    /// A concurrent writer won (a compare-and-swap lost, or a namespace
    /// already claimed by another repository).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data (a lock file, index or sidecar) could not be parsed; the
    /// guest left it as it was for an operator to inspect.
    #[error("corrupt data: {0}")]
    CorruptData(String),
    /// The backend could not be reached or gave a retryable failure (5xx,
    /// throttling, a timeout); trying again may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The backend or the sandbox refused access (an HTTP 403, a read-only
    /// directory, a host not in the sandbox's allow-list).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The call ran out of the time it was given (its `timeout_ms`, or an
    /// abort through [`CallAbort`](crate::CallAbort)) and stopped cleanly.
    #[error("aborted: {0}")]
    Aborted(String),
    /// The guest does not implement this optional call; its provider
    /// features or sync capabilities say so.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A bug or an unexpected state inside the guest.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DatastoreError {
    /// The stable name of the case (`lock-timeout`, `conflict`, ...), as in WIT.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LockTimeout { .. } => "lock-timeout",
            Self::LockLost(_) => "lock-lost",
            Self::InvalidConfig(_) => "invalid-config",
            Self::InvalidArgument(_) => "invalid-argument",
            Self::NotFound(_) => "not-found",
            Self::Conflict(_) => "conflict",
            Self::CorruptData(_) => "corrupt-data",
            Self::Unavailable(_) => "unavailable",
            Self::PermissionDenied(_) => "permission-denied",
            Self::Aborted(_) => "aborted",
            Self::Unsupported(_) => "unsupported",
            Self::Internal(_) => "internal",
        }
    }
}

/// swamp's `LockTimeoutError` message: `Lock "<key>" held by <holder> (pid
/// <pid>) — timed out after <ms>ms`, without the holder clause when unknown.
fn lock_timeout_message(key: &str, holder: Option<&LockInfo>, waited_ms: u64) -> String {
    match holder {
        Some(h) => format!(
            "Lock \"{key}\" held by {} (pid {}) — timed out after {waited_ms}ms",
            h.holder, h.pid
        ),
        None => format!("Lock \"{key}\" — timed out after {waited_ms}ms"),
    }
}

fn problems_message(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| {
            let path = if p.path.is_empty() { "(root)" } else { &p.path };
            format!("{path}: {}", p.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything a call through the embedding library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The guest answered with its typed error.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// The config did not match the component's JSON Schema; the guest was
    /// never called.
    #[error("invalid config for datastore type \"{datastore_type}\": {}", problems_message(.problems))]
    InvalidConfig {
        /// The `@collective/name` type of the component whose schema
        /// rejected the config.
        datastore_type: String,
        /// Every mismatch, each with the JSON Pointer of the offending value.
        problems: Vec<ConfigProblem>,
    },
    /// The component file could not be read, compiled or linked, or its
    /// exports are malformed (for example a schema that is not JSON Schema).
    #[error("cannot load component {component}: {reason}")]
    Load {
        /// The path of the component file, or a bracketed name such as
        /// `(engine)` when the host's own set-up failed.
        component: String,
        /// What went wrong, as wasmtime or the file system reported it.
        reason: String,
    },
    /// The sandbox could not be set up (a mount that is not a directory, an
    /// endpoint that is not a URL).
    #[error("sandbox set-up failed: {0}")]
    Sandbox(String),
    /// The guest trapped (a panic, out of memory, out of CPU time). The
    /// instance is gone; open a new handle.
    #[error("guest trapped in {call}: {reason}")]
    Trap {
        /// The guest function that trapped, in WIT naming (for example
        /// `lock.acquire`).
        call: String,
        /// The trap in words an author can act on, such as a panic's
        /// location and message, the CPU deadline or the memory limit.
        reason: String,
    },
    /// The call ran past its wall-clock deadline and was stopped.
    #[error("{call} exceeded its deadline of {}ms and was stopped", .after.as_millis())]
    Deadline {
        /// The guest function that was stopped, in WIT naming (for example
        /// `sync.push-changed`).
        call: String,
        /// How long the call was allowed to run: its own budget plus the
        /// grace period of [`Limits`](crate::Limits) (for `instantiate`,
        /// the call timeout alone).
        after: Duration,
    },
    /// A previous trap or deadline stopped this instance.
    #[error("the guest instance was stopped earlier ({0}); open a new handle")]
    InstanceStopped(String),
}

impl HostError {
    /// The guest's typed error, if that is what this is.
    pub fn datastore(&self) -> Option<&DatastoreError> {
        match self {
            Self::Datastore(e) => Some(e),
            _ => None,
        }
    }
}

/// Result of every fallible call of the embedding library.
pub type HostResult<T> = Result<T, HostError>;
