//! The only code that touches wasi:http: [`Transport`] over `wstd`.

use std::io::Write;
use std::time::Duration;

use wstd::future::FutureExt as _;
use wstd::http::body::util::BodyExt as _;
use wstd::http::{Body, Client, ErrorCode, Request};

use crate::http::{HttpRequest, HttpResponse, Transport, TransportError};

/// wasi:http through wstd.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasiTransport;

fn classify(e: &wstd::http::Error) -> TransportError {
    match e.downcast_ref::<ErrorCode>() {
        Some(ErrorCode::HttpRequestDenied) => TransportError::Denied(format!("{e:#}")),
        Some(
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout,
        ) => TransportError::Timeout,
        _ => TransportError::Unreachable(format!("{e:#}")),
    }
}

async fn exchange(
    req: HttpRequest,
    timeout: Duration,
    sink: Option<&mut dyn Write>,
) -> Result<HttpResponse, TransportError> {
    let mut client = Client::new();
    client.set_connect_timeout(timeout);
    client.set_first_byte_timeout(timeout);
    client.set_between_bytes_timeout(timeout);
    let mut b = Request::builder()
        .method(req.method.as_str())
        .uri(req.url.as_str());
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    // An empty body is sent without touching the outgoing body stream:
    // for a GET, HEAD or DELETE the host may finish the whole exchange and
    // close that stream before the guest gets to write its zero bytes, and
    // wstd then fails the request ("connection reset") although the server
    // answered. A streamed empty body never writes, and finishing a body
    // whose reader is gone is not an error.
    let body = if req.body.is_empty() {
        Body::from_http_body(wstd::http::body::util::Empty::<wstd::http::body::Bytes>::new())
    } else {
        Body::from(req.body)
    };
    let request = b
        .body(body)
        .map_err(|e| TransportError::Unreachable(format!("cannot build the request: {e}")))?;
    let resp = client.send(request).await.map_err(|e| {
        let c = classify(&e);
        match c {
            TransportError::Unreachable(m) => TransportError::Unreachable(format!("send: {m}")),
            o => o,
        }
    })?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).to_string(),
            )
        })
        .collect();
    let expected: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let mut body = resp.into_body().into_boxed_body();
    let mut collected = Vec::new();
    // Bytes of body received, streamed or collected, for the message when
    // the body breaks off (hyper refuses a body shorter than its
    // content-length; this only says how far it got).
    let mut received: u64 = 0;
    let mut sink = if (200..300).contains(&status) {
        sink
    } else {
        None
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| match classify(&e) {
            TransportError::Unreachable(m) => {
                let of = expected.map(|n| format!(" of {n}")).unwrap_or_default();
                TransportError::Broken(format!(
                    "HTTP {status}, body ended after {received}{of} bytes: {m}"
                ))
            }
            o => o,
        })?;
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
            match sink.as_deref_mut() {
                Some(w) => w.write_all(data).map_err(|e| {
                    TransportError::Unreachable(format!("writing the download failed: {e}"))
                })?,
                None => collected.extend_from_slice(data),
            }
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body: collected,
    })
}

impl Transport for WasiTransport {
    async fn send(
        &self,
        req: HttpRequest,
        timeout: Duration,
        sink: Option<&mut dyn Write>,
    ) -> Result<HttpResponse, TransportError> {
        // The wasi:http timeouts cover connect and each byte; this bounds
        // the whole exchange (slowly dribbling bodies included).
        let whole: wstd::time::Duration = (timeout + timeout).into();
        match exchange(req, timeout, sink).timeout(whole).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout),
        }
    }

    async fn sleep(&self, d: Duration) {
        let d: wstd::time::Duration = d.into();
        wstd::task::sleep(d).await;
    }
}
