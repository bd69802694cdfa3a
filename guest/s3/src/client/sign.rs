//! Building and signing one request: addressing, the payload-hash rule
//! (PUT bodies are sent unsigned, bound by a signed Content-MD5), and the
//! signing clock corrected by the server's `Date`.

use swamp_datastore_sdk::{Error, Result};

use super::S3Client;
use super::ops::http_date;
use crate::http::{HttpRequest, HttpResponse, Transport};
use crate::sigv4;

/// A local clock this far from the server's (its `Date` header) is
/// corrected for signing, as the AWS SDKs do: S3 refuses requests signed
/// more than 15 minutes off (`RequestTimeTooSkewed`).
pub const CLOCK_SKEW_LIMIT_MS: i64 = 5 * 60 * 1000;

/// S3 error codes that mean "your clock is off": retried at once with the
/// corrected clock.
pub(super) const SKEW_CODES: &[&str] = &["RequestTimeTooSkewed", "RequestExpired"];

/// One request as the client describes it before addressing and signing.
pub(super) struct Call<'a> {
    pub(super) method: &'static str,
    /// Full object key (prefix included); `None` for bucket-level calls.
    pub(super) key: Option<&'a str>,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: bytes::Bytes,
    /// Retry on retryable failures (off for writes whose effect must be
    /// disambiguated by the caller).
    pub(super) retry: bool,
}

impl<'a> Call<'a> {
    /// A retried call on one object with no query, headers or body (GET,
    /// HEAD, DELETE of a key).
    pub(super) fn on_object(method: &'static str, key: &'a str) -> Call<'a> {
        Call {
            method,
            key: Some(key),
            query: vec![],
            headers: vec![],
            body: bytes::Bytes::new(),
            retry: true,
        }
    }
}

impl<T: Transport> S3Client<T> {
    /// The signing clock's correction (server minus local), in ms.
    pub fn clock_skew_ms(&self) -> i64 {
        self.skew_ms.get()
    }

    /// Learn the server's clock from a response's `Date`; true when the
    /// correction changed.
    pub(super) fn observe_server_date(&self, r: &HttpResponse) -> bool {
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

    fn path_of(&self, key: Option<&str>) -> String {
        match (self.path_style, key) {
            (true, Some(k)) => format!("/{}/{}", self.cfg.bucket, sigv4::encode_path(k)),
            (true, None) => format!("/{}", self.cfg.bucket),
            (false, Some(k)) => format!("/{}", sigv4::encode_path(k)),
            (false, None) => "/".to_string(),
        }
    }

    pub(super) fn build(&self, call: &Call<'_>) -> Result<HttpRequest> {
        let Some(creds) = &self.creds else {
            return Err(Error::PermissionDenied(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (passed through by the host) or accessKeyId and secretAccessKey in the datastore config".into(),
            ));
        };
        let authority = self.authority();
        let path = self.path_of(call.key);
        // A PUT body is sent as UNSIGNED-PAYLOAD: its Content-MD5 (below) is
        // among the signed headers, so the body is still bound to the
        // signature, and the server checks it. Hashing it with SHA-256 as
        // well cost the guest's single thread a fifth of a push after one
        // edit at 10,000 entries (the 2 MiB monolith index), and in a push
        // of many small files a second SHA-256 of every file besides the
        // content hash the index records (`make bench`, figures d and f).
        let payload_hash = if call.method == "PUT" {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Cond, Deadline, Failure};
    use crate::config::S3Config;
    use crate::http::TransportError;
    use std::cell::RefCell;
    use std::io::Write;
    use std::time::Duration;
    use swamp_datastore_sdk::serde_json::json;
    use time::OffsetDateTime;
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
    fn put_bodies_are_bound_by_a_signed_content_md5_instead_of_their_sha256() {
        let c = client(time::Duration::ZERO);
        let header = |r: &HttpRequest, name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        for size in [0, 4096, 64 * 1024 + 1] {
            let call = Call {
                method: "PUT",
                key: Some("k"),
                query: vec![],
                headers: vec![],
                body: vec![7u8; size].into(),
                retry: true,
            };
            let r = c.build(&call).unwrap();
            let payload = header(&r, "x-amz-content-sha256").unwrap();
            assert_eq!(payload, sigv4::UNSIGNED_PAYLOAD, "{size}");
            use base64::Engine as _;
            use md5::Digest as _;
            assert_eq!(
                header(&r, "content-md5").unwrap(),
                base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&call.body)),
                "{size}"
            );
            let auth = header(&r, "authorization").unwrap();
            assert!(
                auth.contains("content-md5"),
                "Content-MD5 is signed: {auth}"
            );
        }
        // Only PUTs carry a Content-MD5: a POST keeps its hash.
        let call = Call {
            method: "POST",
            key: Some("k"),
            query: vec![],
            headers: vec![],
            body: vec![7u8; 64 * 1024 + 1].into(),
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
