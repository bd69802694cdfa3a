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
    #[error("{}", lock_timeout_message(.lock_key, .holder.as_deref(), *.waited_ms))]
    LockTimeout {
        lock_key: String,
        /// Boxed: a lock info is large and errors travel by value.
        holder: Option<Box<LockInfo>>,
        waited_ms: u64,
    },
    #[error("lock lost: {0}")]
    LockLost(String),
    #[error("invalid config: {}", problems_message(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("corrupt data: {0}")]
    CorruptData(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("aborted: {0}")]
    Aborted(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
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
        datastore_type: String,
        problems: Vec<ConfigProblem>,
    },
    /// The component file could not be read, compiled or linked, or its
    /// exports are malformed (for example a schema that is not JSON Schema).
    #[error("cannot load component {component}: {reason}")]
    Load { component: String, reason: String },
    /// The sandbox could not be set up (a mount that is not a directory, an
    /// endpoint that is not a URL).
    #[error("sandbox set-up failed: {0}")]
    Sandbox(String),
    /// The guest trapped (a panic, out of memory, out of CPU time). The
    /// instance is gone; open a new handle.
    #[error("guest trapped in {call}: {reason}")]
    Trap { call: String, reason: String },
    /// The call ran past its wall-clock deadline and was stopped.
    #[error("{call} exceeded its deadline of {}ms and was stopped", .after.as_millis())]
    Deadline { call: String, after: Duration },
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
