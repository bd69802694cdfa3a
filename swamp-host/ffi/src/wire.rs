//! The JSON that crosses the C ABI: replies, errors, and the argument
//! shapes of the calls. Names are camelCase, as the JavaScript side
//! (`packaging/js/native.ts`) writes and reads them.

use serde::Deserialize;
use serde_json::{Value, json};
use swamp_host::{ConfigProblem, DatastoreError, HostError};

/// A successful reply.
pub(crate) fn ok_reply(value: Value) -> String {
    json!({ "ok": value }).to_string()
}

/// An error reply of `kind` (a WIT error case, or `timeout`).
pub(crate) fn error_reply(kind: &str, message: &str) -> String {
    json!({ "error": { "kind": kind, "message": message } }).to_string()
}

/// What an operation fails with before it becomes a reply.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request itself was wrong (unknown op, missing argument, a
    /// dropped handle): a bug of the caller.
    Request(String),
    /// The host or the guest failed the call.
    Host(HostError),
}

impl From<HostError> for Failure {
    fn from(e: HostError) -> Self {
        Self::Host(e)
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Self::Request(e)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Self::Request(format!("malformed request: {e}"))
    }
}

fn issues(problems: &[ConfigProblem]) -> Value {
    Value::Array(
        problems
            .iter()
            .map(|p| json!({ "path": p.path, "message": p.message }))
            .collect(),
    )
}

/// The error reply of `f`: the guest's typed errors case for case (a lock
/// timeout with its holder, a rejected config with its issues), a deadline
/// (wall-clock or CPU) as `timeout`, and any other trap or a stopped instance as `internal` with the
/// host's explanation (a panic's location, the memory limit).
pub(crate) fn failure_reply(f: &Failure) -> String {
    let e = match f {
        Failure::Request(msg) => return error_reply("invalid-argument", msg),
        Failure::Host(e) => e,
    };
    let message = e.to_string();
    let body = match e {
        HostError::Datastore(DatastoreError::LockTimeout {
            lock_key,
            holder,
            waited_ms,
        }) => json!({
            "kind": "lock-timeout", "message": message,
            "lockKey": lock_key, "holder": holder, "waitedMs": waited_ms,
        }),
        HostError::Datastore(DatastoreError::InvalidConfig(p)) => json!({
            "kind": "invalid-config", "message": message, "issues": issues(p), "byComponent": true,
        }),
        HostError::Datastore(d) => json!({ "kind": d.kind(), "message": message }),
        HostError::InvalidConfig { problems, .. } => json!({
            "kind": "invalid-config", "message": message, "issues": issues(problems),
        }),
        HostError::Deadline { .. } => json!({ "kind": "timeout", "message": message }),
        // A guest spinning on the CPU is stopped by an epoch trap before
        // the wall-clock deadline: the same deadline, met another way.
        HostError::Trap { reason, .. } if reason.starts_with("CPU deadline exceeded") => {
            json!({ "kind": "timeout", "message": message, "trap": true })
        }
        HostError::Trap { .. } => json!({ "kind": "internal", "message": message, "trap": true }),
        HostError::Load { .. } | HostError::Sandbox(_) | HostError::InstanceStopped(_) => {
            json!({ "kind": "internal", "message": message })
        }
    };
    json!({ "error": body }).to_string()
}

/// `host.new`: the limits of every instance (absent: swamp-host's defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HostArgs {
    pub memory_mb: Option<u64>,
    pub call_timeout_ms: Option<u64>,
    pub grace_ms: Option<u64>,
    pub http_timeout_ms: Option<u64>,
    pub cache_dir: Option<String>,
}
