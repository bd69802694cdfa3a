//! Sending a request with retries within a deadline, and the operations
//! of one request each: GET (into memory or a [`Sink`]), HEAD, PUT,
//! DELETE, HeadBucket and ListObjectsV2; with what they return.

use std::io::Write;
use std::time::{Duration, SystemTime};

use swamp_datastore_sdk::sync::HashingWriter;
use swamp_datastore_sdk::write_file::WriteFile;
use swamp_datastore_sdk::{Error, Result};
use time::OffsetDateTime;

use super::failure::{Failure, is_missing_object, is_no_such_bucket, last_or_deadline};
use super::sign::{Call, SKEW_CODES};
use super::{Cond, Deadline, S3Client};
use crate::http::{HttpResponse, Transport, TransportError};
use crate::retry;
use crate::xml;

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

pub(super) fn http_date(v: Option<&str>) -> Option<OffsetDateTime> {
    let t: SystemTime = httpdate::parse_http_date(v?).ok()?;
    Some(OffsetDateTime::from(t))
}

/// The `Content-Type` header of an upload (a PUT, or a multipart upload's
/// initiation), when the object's type is known.
pub(super) fn content_type_header(content_type: Option<&str>) -> Option<(String, String)> {
    content_type.map(|t| ("content-type".to_string(), t.to_string()))
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

impl<T: Transport> S3Client<T> {
    /// Send `call` with retries, within `deadline`. `sink` receives a 2xx
    /// body (it is rewound before every attempt).
    pub(super) async fn execute(
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

    /// GET an object unless its ETag is still `etag` (`If-None-Match`):
    /// `Ok(None)` when it is (304, no body), `Ok(Some(None))` when absent.
    pub async fn get_unless(
        &self,
        key: &str,
        etag: &str,
        deadline: Deadline,
    ) -> Result<std::result::Result<Option<Option<Object>>, Failure>> {
        let mut call = Call::on_object("GET", key);
        call.headers
            .push(("if-none-match".into(), etag.to_string()));
        Ok(match self.execute(call, deadline, None).await? {
            // `execute` passes a 304 on as an answer, without a body.
            Ok(r) if r.status == 304 => Ok(None),
            Ok(r) => {
                let meta = meta_of(&r);
                Ok(Some(Some(Object { body: r.body, meta })))
            }
            Err(f) if is_missing_object(&f) => Ok(Some(None)),
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
        self.put_as(key, body, cond, None, deadline).await
    }

    /// [`S3Client::put`] with the object's Content-Type, when known.
    pub async fn put_as(
        &self,
        key: &str,
        body: Vec<u8>,
        cond: &Cond,
        content_type: Option<&str>,
        deadline: Deadline,
    ) -> Result<std::result::Result<ObjectMeta, Failure>> {
        let mut headers = Self::cond_headers(cond);
        headers.extend(content_type_header(content_type));
        let call = Call {
            method: "PUT",
            key: Some(key),
            query: vec![],
            headers,
            body: body.into(),
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
            body: bytes::Bytes::new(),
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
            body: bytes::Bytes::new(),
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
                body: bytes::Bytes::new(),
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
}
