//! The HTTP client behind every guest's `wasi:http` requests: one per
//! [`Host`](crate::Host), keeping connections alive per authority.
//!
//! wasmtime-wasi-http's `default_send_request` opens a TCP connection per
//! request (10,106 for a push of 10,000 files); this client is hyper-util's
//! pooled one, so a sync's thousands of small requests share a few
//! connections. The allow-list is checked before a request reaches it
//! (`sandbox::HttpPolicy`), so the pool only ever holds connections to
//! authorities some guest was allowed to reach; a connection carries no
//! state of one request into the next (HTTP/1.1, no cookies, each request
//! signs itself). Requests in flight per authority are bounded (a
//! semaphore per authority, its permit held until the response body is
//! done or dropped), so a guest, or many, cannot open connections without
//! end. TLS is rustls with the webpki roots, as in wasmtime.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::Uri;
use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// Idle connections kept per authority: at least the concurrency a sync
/// engine runs with (s3-datastore's default is 10, its maximum 64).
const IDLE_PER_AUTHORITY: usize = 64;
/// How long an idle connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The pooled client, its bound per authority and its counter of
/// connections opened.
#[derive(Clone)]
pub(crate) struct GuestHttpClient {
    client: Client<Connector, WasiBody>,
    opened: Arc<AtomicU64>,
    /// Requests in flight per authority (`scheme://host:port`).
    slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    per_authority: usize,
}

impl GuestHttpClient {
    /// A client whose connection attempts give up after `connect_timeout`,
    /// with at most `per_authority` requests in flight to one authority.
    pub(crate) fn new(connect_timeout: Duration, per_authority: usize) -> Self {
        let opened = Arc::new(AtomicU64::new(0));
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            })
            .with_no_client_auth();
        let connector = Connector {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            opened: opened.clone(),
            connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(IDLE_PER_AUTHORITY)
            .build(connector);
        Self {
            client,
            opened,
            slots: Arc::default(),
            per_authority: per_authority.max(1),
        }
    }

    /// The semaphore of the authority `uri` names.
    fn slots_for(&self, uri: &Uri) -> Arc<Semaphore> {
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        let key = format!(
            "{}://{}:{}",
            uri.scheme_str().unwrap_or("http"),
            uri.host().unwrap_or_default(),
            uri.port_u16().unwrap_or(if https { 443 } else { 80 })
        );
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_authority)))
            .clone()
    }

    /// TCP connections opened so far (the bench reports it).
    pub(crate) fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Send `request` (its URI absolute), with wasi:http's first-byte and
    /// between-bytes timeouts.
    pub(crate) async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: RequestOptions,
    ) -> Result<http::Response<WasiBody>, Error> {
        let first_byte = options
            .first_byte_timeout
            .unwrap_or(Duration::from_secs(600));
        let between = options
            .between_bytes_timeout
            .unwrap_or(Duration::from_secs(600))
            .max(Duration::from_nanos(1));
        let slots = self.slots_for(request.uri());
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let start = std::time::Instant::now();
        // Waiting for a free slot counts against the first-byte timeout.
        let (slot, response) = tokio::time::timeout(first_byte, async {
            let slot = slots.acquire_owned().await;
            (slot, self.client.request(request).await)
        })
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?;
        let slot = slot.map_err(|_| Error::ConnectionRefused)?;
        let response = response.map_err(legacy_error)?;
        // Where a sync's time goes, request by request (the server's share).
        tracing::debug!(%method, %uri, status = response.status().as_u16(),
            ms = start.elapsed().as_secs_f64() * 1000.0, "guest HTTP response headers");
        Ok(response.map(|incoming| {
            let mut timeout = tokio::time::interval(between);
            timeout.reset();
            TimedBody {
                incoming,
                timeout,
                _slot: slot,
            }
            .boxed_unsync()
        }))
    }
}

/// wasi:http's error for what the pooled client reports: a failed or
/// timed-out connection as such, anything else (the connection closed
/// mid-response, a protocol error) as terminated, with hyper's words.
fn legacy_error(e: hyper_util::client::legacy::Error) -> Error {
    let detail = match std::error::Error::source(&e) {
        Some(s) => format!("{e}: {s}"),
        None => e.to_string(),
    };
    if e.is_connect() {
        if detail.contains("timed out") {
            return Error::ConnectionTimeout;
        }
        return Error::Connect(std::io::Error::other(detail));
    }
    tracing::debug!(%detail, "guest HTTP request failed");
    Error::ConnectionTerminated
}

/// A response body that fails when no bytes arrive for a while, as
/// wasmtime's own does (`between-bytes-timeout`), and holds its request's
/// slot of the authority until it is read to the end or dropped.
struct TimedBody {
    incoming: hyper::body::Incoming,
    timeout: tokio::time::Interval,
    _slot: OwnedSemaphorePermit,
}

impl http_body::Body for TimedBody {
    type Data = bytes::Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(if e.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::from(e)
            }))),
            Poll::Ready(Some(Ok(frame))) => {
                self.timeout.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timeout.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

/// Opens the pool's connections: TCP (no delay), then TLS for https.
#[derive(Clone)]
struct Connector {
    tls: tokio_rustls::TlsConnector,
    opened: Arc<AtomicU64>,
    connect_timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let https = uri.scheme() == Some(&Scheme::HTTPS);
            let host = uri.host().ok_or("request URI has no host")?;
            // An IPv6 literal comes in brackets.
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let tcp = tokio::time::timeout(
                this.connect_timeout,
                TcpStream::connect((host.as_str(), port)),
            )
            .await
            .map_err(|_| "connection timed out")??;
            tcp.set_nodelay(true)?;
            this.opened.fetch_add(1, Ordering::Relaxed);
            if !https {
                return Ok(Stream::Plain(TokioIo::new(tcp)));
            }
            let name = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => rustls::pki_types::ServerName::from(ip),
                Err(_) => rustls::pki_types::ServerName::try_from(host)?,
            };
            let tls = this.tls.connect(name, tcp).await?;
            Ok(Stream::Tls(Box::new(TokioIo::new(tls))))
        })
    }
}

/// One pooled connection.
enum Stream {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
