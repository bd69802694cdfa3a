//! The S3 client: addressing, SigV4, retries with jittered backoff,
//! deadlines, error mapping, and the operations the datastore needs
//! (objects with conditions, ListObjectsV2, HeadBucket, multipart).
//!
//! The client is split by concern: this file holds the [`S3Client`] type,
//! its constructor and config accessors, [`Deadline`] and [`Cond`];
//! `failure.rs` the failed request and its mapping to SDK errors;
//! `sign.rs` how a request is built and signed (payload hash, clock-skew
//! correction); `ops.rs` sending with retries and the single-request
//! operations; `multipart.rs` uploads, in parts when large.

mod failure;
mod multipart;
mod ops;
mod sign;

use std::cell::Cell;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::config::S3Config;
use crate::http::Transport;
use crate::sigv4::Credentials;

pub use failure::Failure;
pub use multipart::{MAX_PARTS_IN_FLIGHT, MULTIPART_THRESHOLD, PART_SIZE};
pub use ops::{Listed, Object, ObjectMeta, Sink};
pub use sign::CLOCK_SKEW_LIMIT_MS;

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
}

/// The AWS endpoint of `region`.
pub fn aws_endpoint(region: &str) -> String {
    format!("https://s3.{region}.amazonaws.com")
}
