//! The S3 client: addressing, SigV4, retries with jittered backoff,
//! deadlines, error mapping, and the operations the datastore needs
//! (objects with conditions, ListObjectsV2, HeadBucket, multipart).

use std::cell::{Cell, RefCell};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use futures::stream::{self, StreamExt, TryStreamExt};
use swamp_datastore_sdk::sync::{ContentHash, HashingWriter, Sent};
use swamp_datastore_sdk::write_file::WriteFile;
use swamp_datastore_sdk::{Error, Result};
use time::OffsetDateTime;

use crate::config::S3Config;
use crate::http::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::retry;
use crate::sigv4::{self, Credentials};
use crate::xml;

/// Objects larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Size of each part (S3's minimum is 5 MiB for all but the last).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// Parts in flight at once, whatever pushConcurrency says (memory bound:
/// at most this many parts are held at a time). Each part in flight is in
/// guest memory twice (the call's body, kept for retries, and the signed
/// request's copy), so 3 parts hold 48 MiB: with the rest of the guest a
/// 1 GiB push peaks at about 49 MiB of linear memory (`make bench`, figure
/// g; 4 parts peaked at 65 MiB, over the 64 MiB target).
pub const MAX_PARTS_IN_FLIGHT: usize = 3;
/// Bodies up to this size carry their SHA-256 in the signature; larger
/// PUT bodies are signed as UNSIGNED-PAYLOAD with a signed Content-MD5.
pub const SIGNED_PAYLOAD_MAX: usize = 64 * 1024;

/// A local clock this far from the server's (its `Date` header) is
/// corrected for signing, as the AWS SDKs do: S3 refuses requests signed
/// more than 15 minutes off (`RequestTimeTooSkewed`).
pub const CLOCK_SKEW_LIMIT_MS: i64 = 5 * 60 * 1000;

/// S3 error codes that mean "your clock is off": retried at once with the
/// corrected clock.
const SKEW_CODES: &[&str] = &["RequestTimeTooSkewed", "RequestExpired"];

/// When a call must be finished.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Option<Instant>);

impl Deadline {
    /// No deadline beyond the per-request timeout.
    pub const NONE: Deadline = Deadline(None);

    /// `ms` from now.
    pub fn in_ms(ms: u64) -> Deadline {
        Deadline(Some(Instant::now() + Duration::from_millis(ms)))
    }

    fn remaining(&self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// A precondition on a write or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    None,
    /// `If-None-Match: *`: only create.
    Absent,
    /// `If-Match: <etag>`: only replace that version.
    Etag(String),
}

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

/// An object read with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub body: Vec<u8>,
    pub meta: ObjectMeta,
}

/// What a GET or HEAD tells about an object, and the server's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    pub etag: String,
    pub size: u64,
    /// `Last-Modified`, server clock.
    pub last_modified: Option<OffsetDateTime>,
    /// The response's `Date`, server clock.
    pub server_date: Option<OffsetDateTime>,
}

impl ObjectMeta {
    /// Age of the object by the server's own clock (Date − Last-Modified),
    /// `None` when either header is missing.
    pub fn server_age_ms(&self) -> Option<u64> {
        let (lm, now) = (self.last_modified?, self.server_date?);
        let d = now - lm;
        Some(if d.is_negative() {
            0
        } else {
            d.whole_milliseconds() as u64
        })
    }
}

/// One listed object; `key` is relative to the configured prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
}

fn http_date(v: Option<&str>) -> Option<OffsetDateTime> {
    let t: SystemTime = httpdate::parse_http_date(v?).ok()?;
    Some(OffsetDateTime::from(t))
}

fn meta_of(r: &HttpResponse) -> ObjectMeta {
    ObjectMeta {
        etag: r.header("etag").unwrap_or_default().to_string(),
        size: r
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(r.body.len() as u64),
        last_modified: http_date(r.header("last-modified")),
        server_date: http_date(r.header("date")),
    }
}

/// Where a streamed GET body goes: written as it arrives, and started
/// over before every attempt (a retry must not append to a partial body).
pub trait Sink: Write {
    /// Empty the sink.
    fn restart(&mut self) -> std::io::Result<()>;
}

impl Sink for WriteFile {
    fn restart(&mut self) -> std::io::Result<()> {
        WriteFile::restart(self)
    }
}

/// A file that also hashes what it receives: the hash of a download is
/// taken as it is written, not by reading the file back.
impl Sink for HashingWriter<WriteFile> {
    fn restart(&mut self) -> std::io::Result<()> {
        HashingWriter::restart(self);
        self.get_mut().restart()
    }
}

/// One request as the client describes it before addressing and signing.
struct Call<'a> {
    method: &'static str,
    /// Full object key (prefix included); `None` for bucket-level calls.
    key: Option<&'a str>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Retry on retryable failures (off for writes whose effect must be
    /// disambiguated by the caller).
    retry: bool,
}

impl<'a> Call<'a> {
    /// A retried call on one object with no query, headers or body (GET,
    /// HEAD, DELETE of a key).
    fn on_object(method: &'static str, key: &'a str) -> Call<'a> {
        Call {
            method,
            key: Some(key),
            query: vec![],
            headers: vec![],
            body: vec![],
            retry: true,
        }
    }
}

/// Whether a failure means "no such object" (a 404 that is not a missing
/// bucket, which must stay an error).
fn is_missing_object(f: &Failure) -> bool {
    f.status() == Some(404) && !is_no_such_bucket(f)
}

/// An S3 client for one bucket.
pub struct S3Client<T: Transport> {
    transport: T,
    cfg: S3Config,
    creds: Option<Credentials>,
    scheme: String,
    host: String,
    path_style: bool,
    /// Overrides the signing clock (tests).
    clock: fn() -> OffsetDateTime,
    /// Server clock minus local clock, learned from a response's `Date`
    /// when they are [`CLOCK_SKEW_LIMIT_MS`] or more apart (else 0). Used
    /// for signing only; lock staleness never reads the local clock.
    skew_ms: Cell<i64>,
}

fn is_ip_or_localhost(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[')
}

impl<T: Transport> S3Client<T> {
    /// A client for `cfg`. Credentials come from the config, else from
    /// `env` (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`).
    pub fn new(transport: T, cfg: S3Config, env: &dyn Fn(&str) -> Option<String>) -> S3Client<T> {
        let creds = match (&cfg.access_key_id, &cfg.secret_access_key) {
            (Some(a), Some(s)) => Some(Credentials {
                access_key_id: a.clone(),
                secret_access_key: s.clone(),
                session_token: cfg.session_token.clone(),
            }),
            _ => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => Some(Credentials {
                    access_key_id: a,
                    secret_access_key: s,
                    session_token: env("AWS_SESSION_TOKEN").filter(|t| !t.is_empty()),
                }),
                _ => None,
            },
        };
        let endpoint = cfg
            .endpoint
            .clone()
            .unwrap_or_else(|| aws_endpoint(&cfg.region));
        let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", &endpoint));
        let (scheme, host) = (scheme.to_string(), host.to_string());
        let hostname = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(&host);
        let path_style = cfg.force_path_style
            || is_ip_or_localhost(hostname)
            || (scheme == "https" && cfg.bucket.contains('.'));
        S3Client {
            transport,
            cfg,
            creds,
            scheme,
            host,
            path_style,
            clock: OffsetDateTime::now_utc,
            skew_ms: Cell::new(0),
        }
    }

    /// The signing clock's correction (server minus local), in ms.
    pub fn clock_skew_ms(&self) -> i64 {
        self.skew_ms.get()
    }

    /// Learn the server's clock from a response's `Date`; true when the
    /// correction changed.
    fn observe_server_date(&self, r: &HttpResponse) -> bool {
        let Some(server) = http_date(r.header("date")) else {
            return false;
        };
        let local = (self.clock)();
        let off_ms = ((server - local).whole_milliseconds()) as i64;
        if (off_ms - self.skew_ms.get()).abs() < CLOCK_SKEW_LIMIT_MS {
            return false;
        }
        self.skew_ms.set(off_ms);
        true
    }

    /// Sign with a fixed clock (tests).
    #[cfg(test)]
    pub fn with_clock(mut self, clock: fn() -> OffsetDateTime) -> Self {
        self.clock = clock;
        self
    }

    /// The config.
    pub fn config(&self) -> &S3Config {
        &self.cfg
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// `s3://bucket/key` for messages.
    pub fn describe(&self, full_key: &str) -> String {
        format!("s3://{}/{full_key}", self.cfg.bucket)
    }

    /// The URL authority requests go to (what the sandbox must allow).
    pub fn authority(&self) -> String {
        if self.path_style {
            self.host.clone()
        } else {
            format!("{}.{}", self.cfg.bucket, self.host)
        }
    }

    /// Path-style or virtual-hosted addressing.
    pub fn path_style(&self) -> bool {
        self.path_style
    }

    fn path_of(&self, key: Option<&str>) -> String {
        match (self.path_style, key) {
            (true, Some(k)) => format!("/{}/{}", self.cfg.bucket, sigv4::encode_path(k)),
            (true, None) => format!("/{}", self.cfg.bucket),
            (false, Some(k)) => format!("/{}", sigv4::encode_path(k)),
            (false, None) => "/".to_string(),
        }
    }

    fn build(&self, call: &Call<'_>) -> Result<HttpRequest> {
        let Some(creds) = &self.creds else {
            return Err(Error::PermissionDenied(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (passed through by the host) or accessKeyId and secretAccessKey in the datastore config".into(),
            ));
        };
        let authority = self.authority();
        let path = self.path_of(call.key);
        // A large body is sent as UNSIGNED-PAYLOAD: hashing a 2 MiB monolith
        // index (or an 8 MiB part) with SHA-256 in the guest was a fifth of
        // a push after one edit at 10,000 entries. Its Content-MD5 (below)
        // is among the signed headers, so the body is still bound to the
        // signature; small bodies keep the signed payload hash.
        let payload_hash = if call.method == "PUT" && call.body.len() > SIGNED_PAYLOAD_MAX {
            sigv4::UNSIGNED_PAYLOAD.to_string()
        } else {
            sigv4::sha256_hex(&call.body)
        };
        let now = (self.clock)() + time::Duration::milliseconds(self.skew_ms.get());
        let date = sigv4::amz_date(now);
        let mut headers = call.headers.clone();
        if call.method == "PUT" {
            // The server checks the body against it: SeaweedFS 4.48 (whose
            // signed-payload check does not stop it) replaces an object with
            // an empty one when a PUT is cut off after its headers, as when
            // the host process is killed mid-upload; with Content-MD5 it
            // refuses the short body and the old object stays.
            use base64::Engine as _;
            use md5::Digest as _;
            let md5 =
                base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&call.body));
            headers.push(("content-md5".into(), md5));
        }
        headers.push(("x-amz-date".into(), date.clone()));
        headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
        if let Some(t) = &creds.session_token {
            headers.push(("x-amz-security-token".into(), t.clone()));
        }
        let auth = sigv4::authorization(
            creds,
            &sigv4::Request {
                method: call.method,
                host: &authority,
                path: &path,
                query: &call.query,
                headers: &headers,
                payload_hash: &payload_hash,
                region: &self.cfg.region,
                service: "s3",
            },
            &date,
        );
        headers.push(("authorization".into(), auth));
        // Not signed: wasi:http must send exactly this length.
        if !(call.body.is_empty() && matches!(call.method, "GET" | "HEAD" | "DELETE")) {
            headers.push(("content-length".into(), call.body.len().to_string()));
        }
        let query = sigv4::canonical_query(&call.query);
        let url = if query.is_empty() {
            format!("{}://{authority}{path}", self.scheme)
        } else {
            format!("{}://{authority}{path}?{query}", self.scheme)
        };
        Ok(HttpRequest {
            method: call.method.to_string(),
            url,
            headers,
            body: call.body.clone(),
        })
    }

    /// Send `call` with retries, within `deadline`. `sink` receives a 2xx
    /// body (it is rewound before every attempt).
    async fn execute(
        &self,
        call: Call<'_>,
        deadline: Deadline,
        mut sink: Option<&mut dyn Sink>,
    ) -> Result<std::result::Result<HttpResponse, Failure>> {
        let per_request = Duration::from_millis(self.cfg.request_timeout_ms);
        let attempts = if call.retry { retry::ATTEMPTS } else { 1 };
        let mut last = Failure::Deadline(0);
        // One extra attempt, at once, after the signing clock was corrected.
        let mut skew_retry = true;
        let mut attempt = 0;
        while attempt < attempts {
            let timeout = match deadline.remaining() {
                Some(r) if r.is_zero() => return Ok(Err(last_or_deadline(last, deadline))),
                Some(r) => r.min(per_request),
                None => per_request,
            };
            let req = self.build(&call)?;
            if let Some(f) = sink.as_deref_mut() {
                f.restart().map_err(|e| Error::io("download file", e))?;
            }
            let sink_w: Option<&mut dyn Write> = sink.as_deref_mut().map(|f| f as &mut dyn Write);
            let failure = match self.transport.send(req, timeout, sink_w).await {
                Ok(r) if (200..300).contains(&r.status) || r.status == 304 => {
                    self.observe_server_date(&r);
                    return Ok(Ok(r));
                }
                Ok(r) => {
                    let corrected = self.observe_server_date(&r);
                    let doc: xml::ErrorDoc = xml::parse(&r.body).unwrap_or_default();
                    let request_id = if doc.request_id.is_empty() {
                        r.header("x-amz-request-id").unwrap_or_default().to_string()
                    } else {
                        doc.request_id
                    };
                    // A refusal for the time (HEAD answers carry no code:
                    // a 403 together with a corrected clock says the same).
                    let skewed = SKEW_CODES.contains(&doc.code.as_str())
                        || (corrected && r.status == 403 && doc.code.is_empty());
                    if skewed && corrected && skew_retry {
                        skew_retry = false;
                        continue;
                    }
                    Failure::Status {
                        status: r.status,
                        code: doc.code,
                        message: doc.message,
                        request_id,
                        preview: xml::preview(&r.body),
                    }
                }
                Err(TransportError::Timeout)
                    if deadline.remaining().is_some_and(|r| r.is_zero()) =>
                {
                    Failure::Deadline(0)
                }
                Err(e) => Failure::Transport(e),
            };
            let retryable = match &failure {
                Failure::Status { status, code, .. } => retry::retryable_status(*status, code),
                Failure::Transport(TransportError::Denied(_)) => false,
                Failure::Transport(_) => true,
                Failure::Deadline(_) => false,
            };
            last = failure;
            if !retryable || attempt + 1 == attempts {
                break;
            }
            attempt += 1;
            let mut pause = retry::backoff(attempt - 1);
            if let Some(r) = deadline.remaining() {
                if r <= pause {
                    break;
                }
                pause = pause.min(r);
            }
            self.transport.sleep(pause).await;
        }
        Ok(Err(last))
    }

    fn cond_headers(cond: &Cond) -> Vec<(String, String)> {
        match cond {
            Cond::None => vec![],
            Cond::Absent => vec![("if-none-match".into(), "*".into())],
            Cond::Etag(e) => vec![("if-match".into(), e.clone())],
        }
    }

    /// GET an object; `Ok(None)` when absent.
    pub async fn get(
        &self,
        key: &str,
        deadline: Deadline,
    ) -> Result<std::result::Result<Option<Object>, Failure>> {
        let call = Call::on_object("GET", key);
        Ok(match self.execute(call, deadline, None).await? {
            Ok(r) => {
                let meta = meta_of(&r);
                Ok(Some(Object { body: r.body, meta }))
            }
            Err(f) if is_missing_object(&f) => Ok(None),
            Err(f) => Err(f),
        })
    }

    /// GET an object into `file` as it arrives (bounded memory); the
    /// metadata, or `None` when absent.
    pub async fn get_to_file(
        &self,
        key: &str,
        file: &mut dyn Sink,
        deadline: Deadline,
    ) -> Result<std::result::Result<Option<ObjectMeta>, Failure>> {
        let call = Call::on_object("GET", key);
        Ok(match self.execute(call, deadline, Some(file)).await? {
            Ok(r) => Ok(Some(meta_of(&r))),
            Err(f) if is_missing_object(&f) => Ok(None),
            Err(f) => Err(f),
        })
    }

    /// HEAD an object; `Ok(None)` when absent.
    pub async fn head(
        &self,
        key: &str,
        deadline: Deadline,
    ) -> Result<std::result::Result<Option<ObjectMeta>, Failure>> {
        let call = Call::on_object("HEAD", key);
        Ok(match self.execute(call, deadline, None).await? {
            Ok(r) => Ok(Some(meta_of(&r))),
            Err(f) if f.status() == Some(404) => Ok(None),
            Err(f) => Err(f),
        })
    }

    /// PUT an object (single request) under `cond`; the new ETag.
    /// Conditional writes are not retried: the caller disambiguates.
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        cond: &Cond,
        deadline: Deadline,
    ) -> Result<std::result::Result<ObjectMeta, Failure>> {
        let call = Call {
            method: "PUT",
            key: Some(key),
            query: vec![],
            headers: Self::cond_headers(cond),
            body,
            retry: *cond == Cond::None,
        };
        Ok(self
            .execute(call, deadline, None)
            .await?
            .map(|r| meta_of(&r)))
    }

    /// DELETE an object under `cond`. A missing object is success for an
    /// unconditional delete.
    pub async fn delete(
        &self,
        key: &str,
        cond: &Cond,
        deadline: Deadline,
    ) -> Result<std::result::Result<(), Failure>> {
        let call = Call {
            method: "DELETE",
            key: Some(key),
            query: vec![],
            headers: Self::cond_headers(cond),
            body: vec![],
            retry: *cond == Cond::None,
        };
        Ok(match self.execute(call, deadline, None).await? {
            Ok(_) => Ok(()),
            Err(f) if f.status() == Some(404) && *cond == Cond::None && !is_no_such_bucket(&f) => {
                Ok(())
            }
            Err(f) => Err(f),
        })
    }

    /// HeadBucket.
    pub async fn head_bucket(
        &self,
        deadline: Deadline,
    ) -> Result<std::result::Result<(), Failure>> {
        let call = Call {
            method: "HEAD",
            key: None,
            query: vec![],
            headers: vec![],
            body: vec![],
            retry: true,
        };
        Ok(self.execute(call, deadline, None).await?.map(|_| ()))
    }

    /// Every object whose full key starts with `full_prefix`
    /// (ListObjectsV2, following continuation tokens).
    pub async fn list(
        &self,
        full_prefix: &str,
        deadline: Deadline,
    ) -> Result<std::result::Result<Vec<Listed>, Failure>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type".to_string(), "2".to_string())];
            if !full_prefix.is_empty() {
                query.push(("prefix".into(), full_prefix.to_string()));
            }
            if let Some(t) = &token {
                query.push(("continuation-token".into(), t.clone()));
            }
            let call = Call {
                method: "GET",
                key: None,
                query,
                headers: vec![],
                body: vec![],
                retry: true,
            };
            let r = match self.execute(call, deadline, None).await? {
                Ok(r) => r,
                Err(f) => return Ok(Err(f)),
            };
            let page: xml::ListBucketResult = xml::parse(&r.body).map_err(|m| {
                Error::CorruptData(format!(
                    "S3 ListObjectsV2 s3://{}/{full_prefix}: {m}",
                    self.cfg.bucket
                ))
            })?;
            out.extend(page.contents.into_iter().map(|o| Listed {
                key: o.key,
                size: o.size,
                etag: o.etag,
                last_modified: o.last_modified,
            }));
            match page.next_continuation_token {
                Some(t) if page.is_truncated && !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(Ok(out))
    }

    /// Upload `size` bytes produced by `part(offset, len)` to `key`: one PUT
    /// up to [`MULTIPART_THRESHOLD`], else a multipart upload with at most
    /// [`MAX_PARTS_IN_FLIGHT`] parts (each [`PART_SIZE`]) held and sent at
    /// once. A failed multipart upload is aborted.
    pub async fn upload<F>(
        &self,
        key: &str,
        size: u64,
        part: F,
        deadline: Deadline,
    ) -> Result<ObjectMeta>
    where
        F: Fn(u64, u64) -> Result<Vec<u8>>,
    {
        let target = self.describe(key);
        if size <= MULTIPART_THRESHOLD {
            let body = part(0, size)?;
            return self
                .put(key, body, &Cond::None, deadline)
                .await?
                .map_err(|f| f.into_error("PutObject", &target));
        }
        let call = Call {
            method: "POST",
            key: Some(key),
            query: vec![("uploads".into(), String::new())],
            headers: vec![],
            body: vec![],
            retry: true,
        };
        let r = self
            .execute(call, deadline, None)
            .await?
            .map_err(|f| f.into_error("CreateMultipartUpload", &target))?;
        let init: xml::InitiateMultipartUploadResult = xml::parse(&r.body)
            .map_err(|m| Error::CorruptData(format!("S3 CreateMultipartUpload {target}: {m}")))?;
        let upload_id = init.upload_id;
        let parts = size.div_ceil(PART_SIZE);
        let concurrency = self.cfg.push_concurrency.clamp(1, MAX_PARTS_IN_FLIGHT);
        let part = &part;
        let upload_id_ref = &upload_id;
        let target_ref = &target;
        let result: Result<Vec<xml::CompletedPart>> = stream::iter(0..parts)
            .map(|i| async move {
                let offset = i * PART_SIZE;
                let len = PART_SIZE.min(size - offset);
                let body = part(offset, len)?;
                let number = (i + 1) as u32;
                let call = Call {
                    method: "PUT",
                    key: Some(key),
                    query: vec![
                        ("partNumber".into(), number.to_string()),
                        ("uploadId".into(), upload_id_ref.clone()),
                    ],
                    headers: vec![],
                    body,
                    retry: true,
                };
                let r = self
                    .execute(call, deadline, None)
                    .await?
                    .map_err(|f| f.into_error("UploadPart", target_ref))?;
                Ok(xml::CompletedPart {
                    part_number: number,
                    etag: r.header("etag").unwrap_or_default().to_string(),
                })
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await;
        let mut done = match result {
            Ok(d) => d,
            Err(e) => {
                self.abort_upload(key, &upload_id).await;
                return Err(e);
            }
        };
        done.sort_by_key(|p| p.part_number);
        let call = Call {
            method: "POST",
            key: Some(key),
            query: vec![("uploadId".into(), upload_id.clone())],
            headers: vec![("content-type".into(), "application/xml".into())],
            body: xml::complete_body(done),
            retry: true,
        };
        let r = match self.execute(call, deadline, None).await? {
            Ok(r) => r,
            Err(f) => {
                self.abort_upload(key, &upload_id).await;
                return Err(f.into_error("CompleteMultipartUpload", &target));
            }
        };
        // A 200 may still carry an error document.
        if let Ok(doc) = xml::parse::<xml::ErrorDoc>(&r.body)
            && !doc.code.is_empty()
        {
            self.abort_upload(key, &upload_id).await;
            return Err(Error::Unavailable(format!(
                "S3 CompleteMultipartUpload {target} failed: {} — {} requestId={}",
                doc.code, doc.message, doc.request_id
            )));
        }
        let done: xml::CompleteMultipartUploadResult = xml::parse(&r.body).unwrap_or_default();
        Ok(ObjectMeta {
            etag: done.etag,
            size,
            last_modified: None,
            server_date: None,
        })
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) {
        let call = Call {
            method: "DELETE",
            key: Some(key),
            query: vec![("uploadId".into(), upload_id.to_string())],
            headers: vec![],
            body: vec![],
            retry: true,
        };
        // Best effort: a bucket lifecycle rule cleans up what this misses.
        let _ = self.execute(call, Deadline::NONE, None).await;
    }

    /// Upload a local file, streaming it part by part; what was sent.
    pub async fn upload_file(&self, key: &str, path: &Path, deadline: Deadline) -> Result<Sent> {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        self.upload_file_of_size(key, path, size, deadline).await
    }

    /// [`S3Client::upload_file`] for a file whose size the caller has just
    /// read (one file call fewer per upload).
    pub async fn upload_file_of_size(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        deadline: Deadline,
    ) -> Result<Sent> {
        // The parts are read in order (each part's request reads its bytes
        // before its first await, and they start in order), so the hash of
        // the whole file builds up as they are read. Should a part ever be
        // read out of order or twice, the file is hashed again afterwards.
        let hashed = RefCell::new((ContentHash::default(), true));
        let read_part = |offset: u64, len: u64| -> Result<Vec<u8>> {
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
            if offset > 0 {
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(path.display(), e))?;
            }
            let mut buf = vec![0u8; len as usize];
            f.read_exact(&mut buf)
                .map_err(|e| Error::io(path.display(), e))?;
            let (hash, in_order) = &mut *hashed.borrow_mut();
            if *in_order && offset == hash.len() {
                hash.update(&buf);
            } else {
                *in_order = false;
            }
            Ok(buf)
        };
        self.upload(key, size, read_part, deadline).await?;
        match hashed.into_inner() {
            (hash, true) if hash.len() == size => Ok(hash.finish()),
            _ => {
                let (sha256, size) = swamp_datastore_sdk::sync::local::hash_file(path)?;
                Ok(Sent { sha256, size })
            }
        }
    }

    /// Upload bytes already in memory (parts are slices of them).
    pub async fn upload_bytes(
        &self,
        key: &str,
        bytes: &[u8],
        deadline: Deadline,
    ) -> Result<ObjectMeta> {
        let slice = |offset: u64, len: u64| -> Result<Vec<u8>> {
            Ok(bytes[offset as usize..(offset + len) as usize].to_vec())
        };
        self.upload(key, bytes.len() as u64, slice, deadline).await
    }
}

fn last_or_deadline(last: Failure, deadline: Deadline) -> Failure {
    match last {
        Failure::Deadline(_) => Failure::Deadline(deadline.0.map(|_| 0).unwrap_or(0)),
        f => f,
    }
}

fn is_no_such_bucket(f: &Failure) -> bool {
    matches!(f, Failure::Status { code, .. } if code == "NoSuchBucket")
}

/// The AWS endpoint of `region`.
pub fn aws_endpoint(region: &str) -> String {
    format!("https://s3.{region}.amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use swamp_datastore_sdk::serde_json::json;
    use time::macros::format_description;

    /// A server whose clock is `offset` ahead of ours, refusing requests
    /// signed more than 15 minutes off (as S3 does) and answering 403
    /// AccessDenied to keys starting `denied`.
    struct Server {
        offset: time::Duration,
        seen: RefCell<Vec<(String, String)>>,
    }

    impl Transport for Server {
        async fn send(
            &self,
            req: HttpRequest,
            _timeout: Duration,
            _sink: Option<&mut dyn Write>,
        ) -> std::result::Result<HttpResponse, TransportError> {
            let signed = req
                .headers
                .iter()
                .find(|(k, _)| k == "x-amz-date")
                .map(|(_, v)| v.clone())
                .unwrap();
            self.seen
                .borrow_mut()
                .push((req.method.clone(), signed.clone()));
            let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
            let signed = time::PrimitiveDateTime::parse(&signed, &fmt)
                .unwrap()
                .assume_utc();
            let now = OffsetDateTime::now_utc() + self.offset;
            let date = ("date".to_string(), httpdate::fmt_http_date(now.into()));
            let error = |status: u16, code: &str| HttpResponse {
                status,
                headers: vec![date.clone()],
                body: if req.method == "HEAD" {
                    vec![]
                } else {
                    format!("<Error><Code>{code}</Code><Message>m</Message></Error>").into_bytes()
                },
            };
            if (now - signed).abs() > time::Duration::minutes(15) {
                return Ok(error(403, "RequestTimeTooSkewed"));
            }
            if req.url.contains("/denied") {
                return Ok(error(403, "AccessDenied"));
            }
            Ok(HttpResponse {
                status: 200,
                headers: vec![date],
                body: b"ok".to_vec(),
            })
        }

        async fn sleep(&self, _d: Duration) {}
    }

    fn client(offset: time::Duration) -> S3Client<Server> {
        let cfg = S3Config::parse(&json!({
            "bucket": "b-one",
            "endpoint": "http://127.0.0.1:9000",
            "accessKeyId": "AK",
            "secretAccessKey": "SK",
        }))
        .unwrap();
        S3Client::new(
            Server {
                offset,
                seen: RefCell::new(vec![]),
            },
            cfg,
            &|_| None,
        )
    }

    #[test]
    fn a_skewed_local_clock_is_corrected_from_the_servers_date() {
        for hours in [1, -1] {
            let c = client(time::Duration::hours(hours));
            // GET: refused with RequestTimeTooSkewed, re-signed at once.
            let got = futures::executor::block_on(c.get("k", Deadline::NONE)).unwrap();
            assert_eq!(got.unwrap().unwrap().body, b"ok");
            assert_eq!(c.transport().seen.borrow().len(), 2);
            let skew = c.clock_skew_ms();
            assert!(
                (skew - hours * 3_600_000).abs() < 5_000,
                "{hours} h: skew {skew}"
            );
            // Later calls are signed right the first time; a HEAD (no
            // error code in its answer) and a conditional PUT too.
            c.transport().seen.borrow_mut().clear();
            futures::executor::block_on(c.head("k", Deadline::NONE))
                .unwrap()
                .unwrap();
            futures::executor::block_on(c.put("k", b"x".to_vec(), &Cond::Absent, Deadline::NONE))
                .unwrap()
                .unwrap();
            assert_eq!(c.transport().seen.borrow().len(), 2);
        }
        // A HEAD is corrected as well, though its 403 carries no code.
        let c = client(time::Duration::hours(2));
        futures::executor::block_on(c.head("k", Deadline::NONE))
            .unwrap()
            .unwrap();
        assert_eq!(c.transport().seen.borrow().len(), 2);
    }

    #[test]
    fn large_put_bodies_are_bound_by_a_signed_content_md5_instead_of_their_sha256() {
        let c = client(time::Duration::ZERO);
        let header = |r: &HttpRequest, name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        for (size, unsigned) in [
            (4096, false),
            (SIGNED_PAYLOAD_MAX, false),
            (SIGNED_PAYLOAD_MAX + 1, true),
        ] {
            let call = Call {
                method: "PUT",
                key: Some("k"),
                query: vec![],
                headers: vec![],
                body: vec![7u8; size],
                retry: true,
            };
            let r = c.build(&call).unwrap();
            let payload = header(&r, "x-amz-content-sha256").unwrap();
            if unsigned {
                assert_eq!(payload, sigv4::UNSIGNED_PAYLOAD, "{size}");
            } else {
                assert_eq!(payload, sigv4::sha256_hex(&call.body), "{size}");
            }
            assert!(header(&r, "content-md5").is_some(), "{size}");
            let auth = header(&r, "authorization").unwrap();
            assert!(
                auth.contains("content-md5"),
                "Content-MD5 is signed: {auth}"
            );
        }
        // Only PUTs carry a Content-MD5: a large POST keeps its hash.
        let call = Call {
            method: "POST",
            key: Some("k"),
            query: vec![],
            headers: vec![],
            body: vec![7u8; SIGNED_PAYLOAD_MAX + 1],
            retry: true,
        };
        let r = c.build(&call).unwrap();
        assert_eq!(
            header(&r, "x-amz-content-sha256").unwrap(),
            sigv4::sha256_hex(&call.body)
        );
    }

    #[test]
    fn a_right_clock_is_left_alone_and_a_403_is_not_retried() {
        let c = client(time::Duration::seconds(30));
        futures::executor::block_on(c.get("k", Deadline::NONE))
            .unwrap()
            .unwrap();
        assert_eq!(c.clock_skew_ms(), 0);
        c.transport().seen.borrow_mut().clear();
        let f = futures::executor::block_on(c.get("denied", Deadline::NONE))
            .unwrap()
            .unwrap_err();
        assert_eq!(f.status(), Some(403));
        assert_eq!(c.transport().seen.borrow().len(), 1);
        // Skewed and denied: one corrected retry, then the real 403.
        let c = client(time::Duration::hours(1));
        let f = futures::executor::block_on(c.get("denied", Deadline::NONE))
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&f, Failure::Status { code, .. } if code == "AccessDenied"),
            "{f:?}"
        );
        assert_eq!(c.transport().seen.borrow().len(), 2);
    }
}
