//! A failed S3 request ([`Failure`]), how it becomes an SDK error, and
//! the small predicates the operations use on it.

use swamp_datastore_sdk::Error;

use super::Deadline;
use crate::http::TransportError;
use crate::retry;

/// A failed S3 request, before it becomes an SDK [`Error`].
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The server answered with a non-success status.
    Status {
        status: u16,
        code: String,
        message: String,
        request_id: String,
        preview: String,
    },
    /// No answer.
    Transport(TransportError),
    /// The call's deadline passed.
    Deadline(u64),
}

impl Failure {
    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Precondition failed (412) or a conditional-write race (409).
    pub fn is_precondition(&self) -> bool {
        matches!(self.status(), Some(412) | Some(409))
    }

    /// The request may or may not have taken effect (timeout, 5xx,
    /// connection lost): callers of non-idempotent writes re-read.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Failure::Status { status, code, .. } => retry::retryable_status(*status, code),
            Failure::Transport(TransportError::Denied(_)) => false,
            Failure::Transport(_) | Failure::Deadline(_) => true,
        }
    }

    /// The conditional header is not implemented by this server.
    pub fn is_not_implemented(&self) -> bool {
        matches!(self, Failure::Status { status: 501, .. })
            || matches!(self, Failure::Status { code, .. } if code == "NotImplemented")
    }

    /// The SDK error, with `op` ("PutObject") and `target` ("s3://b/k") in
    /// the message and an actionable hint first where one applies.
    pub fn into_error(self, op: &str, target: &str) -> Error {
        match self {
            // The budget itself is not known here (the caller's deadline is
            // an instant), so the message names the deadline, not a number.
            Failure::Deadline(_) => Error::Aborted(format!(
                "S3 {op} {target} did not finish before the call's deadline (its timeout-ms) ran out"
            )),
            Failure::Transport(TransportError::Timeout) => Error::Unavailable(format!(
                "S3 {op} {target} timed out; the endpoint did not answer in time"
            )),
            Failure::Transport(TransportError::Unreachable(m)) => Error::Unavailable(format!(
                "S3 {op} {target} failed: the endpoint is unreachable ({m})"
            )),
            Failure::Transport(TransportError::Broken(m)) => Error::Unavailable(format!(
                "S3 {op} {target} failed: the answer broke off ({m})"
            )),
            Failure::Transport(TransportError::Denied(m)) => Error::PermissionDenied(format!(
                "S3 {op} {target} was refused by the sandbox ({m}); the datastore may reach only its configured endpoint"
            )),
            Failure::Status {
                status,
                code,
                message,
                request_id,
                preview,
            } => {
                let mut detail = format!("S3 {op} {target} failed: HTTP {status}");
                if !code.is_empty() {
                    detail.push_str(&format!(" {code}"));
                }
                if !message.is_empty() {
                    detail.push_str(&format!(" — {message}"));
                }
                if !request_id.is_empty() {
                    detail.push_str(&format!(" requestId={request_id}"));
                }
                if !preview.is_empty() && code.is_empty() {
                    detail.push_str(&format!(" bodyPreview=\"{preview}\""));
                }
                match (status, code.as_str()) {
                    (_, "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired") => {
                        Error::PermissionDenied(format!(
                            "Datastore session expired: the AWS session token is no longer valid; refresh the credentials (AWS_SESSION_TOKEN or sessionToken) and retry. {detail}"
                        ))
                    }
                    (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch") | (403, "AccessDenied") => {
                        Error::PermissionDenied(format!(
                            "Datastore credentials rejected by the S3 endpoint: verify AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or accessKeyId / secretAccessKey in the config) and the bucket policy, then retry. {detail}"
                        ))
                    }
                    (401 | 403, _) => Error::PermissionDenied(format!(
                        "{detail} (check AWS credentials — env vars or config — and the endpoint configuration)"
                    )),
                    (404, "NoSuchBucket") => {
                        Error::NotFound(format!("{detail} (the bucket does not exist)"))
                    }
                    (404, _) => Error::NotFound(detail),
                    (409 | 412, _) => Error::Conflict(detail),
                    (501, _) | (_, "NotImplemented") => Error::Unsupported(detail),
                    (s, c) if retry::retryable_status(s, c) => Error::Unavailable(detail),
                    _ => Error::Internal(detail),
                }
            }
        }
    }
}

/// Whether a failure means "no such object" (a 404 that is not a missing
/// bucket, which must stay an error).
pub(super) fn is_missing_object(f: &Failure) -> bool {
    f.status() == Some(404) && !is_no_such_bucket(f)
}

pub(super) fn last_or_deadline(last: Failure, deadline: Deadline) -> Failure {
    match last {
        Failure::Deadline(_) => Failure::Deadline(deadline.0.map(|_| 0).unwrap_or(0)),
        f => f,
    }
}

pub(super) fn is_no_such_bucket(f: &Failure) -> bool {
    matches!(f, Failure::Status { code, .. } if code == "NoSuchBucket")
}
