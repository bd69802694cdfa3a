//! The one error type of every SDK and datastore call, mirroring the WIT
//! `error` variant case for case so a host can tell the kinds apart.

use std::fmt;

use crate::lock_info::LockInfo;
use swamp_datastore_types::ConfigProblem;

/// Result of every fallible SDK call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a call failed. Each case maps one to one onto the WIT `error` case of
/// the same name; the message is for people, the case is for programs.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Acquire waited `max-wait-ms` and the lock was still held.
    LockTimeout {
        /// The lock key that was wanted.
        lock_key: String,
        /// The holder when acquire gave up, if its lock could be read.
        holder: Option<LockInfo>,
        /// How long acquire waited.
        waited_ms: u64,
    },
    /// The lock this handle held was taken over or force-released.
    LockLost(String),
    /// The config was rejected; every problem is listed with its path.
    InvalidConfig(Vec<ConfigProblem>),
    /// An argument was refused (a bad rel-path, slug or manifest).
    InvalidArgument(String),
    /// Something the call needs does not exist.
    NotFound(String),
    /// A concurrent writer won.
    Conflict(String),
    /// Stored data could not be parsed; it is left as it was.
    CorruptData(String),
    /// The backend failed in a way that may pass on a retry.
    Unavailable(String),
    /// The backend or the sandbox refused access.
    PermissionDenied(String),
    /// The call ran out of the time it was given.
    Aborted(String),
    /// The datastore does not implement this optional call.
    Unsupported(String),
    /// A bug or an unexpected state inside the guest.
    Internal(String),
}

/// "Illegal byte sequence": WASI reports it for a directory entry whose
/// name is not UTF-8; std has no `ErrorKind` for it.
#[cfg(target_os = "wasi")]
const EILSEQ: i32 = 25;
#[cfg(not(target_os = "wasi"))]
const EILSEQ: i32 = 84; // Linux

impl Error {
    /// Map an I/O failure on `what` (a path or an object name) to the case a
    /// host can act on: missing, refused, or (anything else) unavailable.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Error {
        use std::io::ErrorKind as K;
        let msg = crate::io_error::describe(&what.to_string(), &err);
        match err.kind() {
            K::NotFound => Error::NotFound(msg),
            K::PermissionDenied | K::ReadOnlyFilesystem => Error::PermissionDenied(msg),
            K::Unsupported => Error::Unsupported(msg),
            // Retrying cannot help these (hostile corpus: a file where a
            // directory goes, a name longer than the file system allows, a
            // directory holding a name that is not UTF-8), so they are not
            // `unavailable`.
            K::IsADirectory | K::NotADirectory | K::DirectoryNotEmpty => {
                Error::Conflict(format!("{msg} (a file and a directory clash at this path)"))
            }
            K::InvalidFilename => Error::InvalidArgument(msg),
            _ if err.raw_os_error() == Some(EILSEQ) => Error::CorruptData(format!(
                "{msg} (a file name there is not UTF-8; rename or remove it)"
            )),
            _ => Error::Unavailable(msg),
        }
    }

    /// `unsupported` for an optional call a datastore leaves out.
    pub fn unsupported(call: &str) -> Error {
        Error::Unsupported(format!("{call} is not supported by this datastore"))
    }

    /// A single config problem, for the common case of one bad field.
    pub fn invalid_config(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidConfig(vec![ConfigProblem {
            path: path.into(),
            message: message.into(),
        }])
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Same words as swamp's LockTimeoutError so logs read alike.
            Error::LockTimeout {
                lock_key,
                holder,
                waited_ms,
            } => match holder {
                Some(h) => write!(
                    f,
                    "Lock \"{lock_key}\" held by {} (pid {}) — timed out after {waited_ms}ms",
                    h.holder, h.pid
                ),
                None => write!(f, "Lock \"{lock_key}\" — timed out after {waited_ms}ms"),
            },
            Error::LockLost(m) => write!(f, "lock lost: {m}"),
            Error::InvalidConfig(problems) => {
                write!(f, "invalid config:")?;
                for p in problems {
                    let at = if p.path.is_empty() { "(root)" } else { &p.path };
                    write!(f, " {at}: {};", p.message)?;
                }
                Ok(())
            }
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::Conflict(m) => write!(f, "conflict: {m}"),
            Error::CorruptData(m) => write!(f, "corrupt data: {m}"),
            Error::Unavailable(m) => write!(f, "unavailable: {m}"),
            Error::PermissionDenied(m) => write!(f, "permission denied: {m}"),
            Error::Aborted(m) => write!(f, "aborted: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_actionable_cases() {
        let nf = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(matches!(Error::io("/x", nf), Error::NotFound(m) if m.starts_with("/x: ")));
        let pd = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(Error::io("/x", pd), Error::PermissionDenied(_)));
        let dir = std::io::Error::from(std::io::ErrorKind::IsADirectory);
        assert!(matches!(Error::io("/x", dir), Error::Conflict(m) if m.contains("clash")));
        let long = std::io::Error::from(std::io::ErrorKind::InvalidFilename);
        assert!(matches!(Error::io("/x", long), Error::InvalidArgument(_)));
        let ilseq = std::io::Error::from_raw_os_error(EILSEQ);
        assert!(matches!(Error::io("/d", ilseq), Error::CorruptData(m) if m.contains("UTF-8")));
        let other = std::io::Error::other("disk on fire");
        assert!(matches!(Error::io("/x", other), Error::Unavailable(_)));
    }

    #[test]
    fn lock_timeout_message_names_holder_and_wait() {
        let e = Error::LockTimeout {
            lock_key: ".datastore.lock".into(),
            holder: Some(LockInfo {
                holder: "ann@box".into(),
                hostname: "box".into(),
                pid: 42,
                acquired_at: "2026-01-01T00:00:00.000Z".into(),
                ttl_ms: 30000,
                nonce: None,
            }),
            waited_ms: 1500,
        };
        assert_eq!(
            e.to_string(),
            "Lock \".datastore.lock\" held by ann@box (pid 42) — timed out after 1500ms"
        );
    }

    #[test]
    fn invalid_config_lists_every_problem() {
        let e = Error::InvalidConfig(vec![
            ConfigProblem {
                path: "/path".into(),
                message: "is required".into(),
            },
            ConfigProblem {
                path: "".into(),
                message: "bad".into(),
            },
        ]);
        assert_eq!(
            e.to_string(),
            "invalid config: /path: is required; (root): bad;"
        );
    }
}
