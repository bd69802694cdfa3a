//! The transport seam: plain request/response values and a small async
//! trait. The component implements it over wasi:http (`wasi.rs`); native
//! unit tests implement it with an in-memory S3 (`fake.rs`).

use std::future::Future;
use std::io::Write;
use std::time::Duration;

/// One HTTP request, fully described (the body is in memory: callers keep
/// bodies bounded, e.g. one multipart part). The body is shared with the
/// call it was built from, so an attempt costs no copy of it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
}

/// One HTTP response. `body` is empty when it was streamed into a sink.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The request did not finish within its timeout.
    Timeout,
    /// Connection refused, DNS failure, reset, TLS failure...
    Unreachable(String),
    /// The answer started but broke off: a body shorter than its
    /// `content-length`, or the connection lost mid-body. Never a complete
    /// answer; retried like a lost connection.
    Broken(String),
    /// The sandbox refused the destination.
    Denied(String),
}

/// Sends requests and sleeps; both async so several requests can be in
/// flight at once.
pub trait Transport {
    /// Send `req`; give up after `timeout`. When `sink` is given and the
    /// status is 2xx, the body is written to it as it arrives (bounded
    /// memory) instead of being collected.
    fn send(
        &self,
        req: HttpRequest,
        timeout: Duration,
        sink: Option<&mut dyn Write>,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>>;

    /// Wait `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

/// Run `fut` to completion on this target's executor: wstd's reactor in the
/// component, a thread-blocking executor natively.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    #[cfg(target_arch = "wasm32")]
    {
        wstd::runtime::block_on(fut)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        futures::executor::block_on(fut)
    }
}
