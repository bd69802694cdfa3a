//! A pass-through TCP proxy that counts the HTTP requests a client sends
//! (request heads, parsed with `httparse`; bodies skipped by their
//! `content-length`), whether the client opens a connection per request
//! (wasi:http) or reuses them (awscli). Used only in an untimed pass: the
//! extra hop would distort the timings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    connections: AtomicU64,
    lost: AtomicBool,
}

/// A running counter; it stops with the runtime.
pub struct Counter {
    pub addr: SocketAddr,
    counts: Arc<Counts>,
}

impl Counter {
    /// Listen on a free port of 127.0.0.1 and forward to `upstream`.
    pub async fn start(upstream: String) -> Result<Counter> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                c.connections.fetch_add(1, Ordering::Relaxed);
                let (up, c) = (upstream.clone(), c.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&up).await {
                        let _ = relay(client, server, c).await;
                    }
                });
            }
        });
        Ok(Counter { addr, counts })
    }

    /// Requests seen so far, or `None` when some could not be counted
    /// (a chunked body).
    pub fn requests(&self) -> Option<u64> {
        (!self.counts.lost.load(Ordering::Relaxed))
            .then(|| self.counts.requests.load(Ordering::Relaxed))
    }

    pub fn connections(&self) -> u64 {
        self.counts.connections.load(Ordering::Relaxed)
    }
}

/// Counts request heads in one connection's upward byte stream.
#[derive(Default)]
struct Heads {
    pending: Vec<u8>,
    body_left: u64,
    count: u64,
    /// A chunked body was seen: its length is unknown to this counter, so
    /// the rest of the connection is not parsed (and the count is low).
    lost: bool,
}

impl Heads {
    fn feed(&mut self, data: &[u8]) {
        if self.lost {
            return;
        }
        self.pending.extend_from_slice(data);
        loop {
            if self.body_left > 0 {
                let skip = self.body_left.min(self.pending.len() as u64);
                self.pending.drain(..skip as usize);
                self.body_left -= skip;
                if self.body_left > 0 {
                    return;
                }
            }
            if self.pending.is_empty() {
                return;
            }
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            let Ok(httparse::Status::Complete(len)) = req.parse(&self.pending) else {
                return; // an incomplete head: wait for more bytes
            };
            let header = |name: &str| {
                req.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
            };
            if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
                self.lost = true;
            }
            let body = header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            self.count += 1;
            self.pending.drain(..len);
            self.body_left = body;
            if self.lost {
                self.pending.clear();
                return;
            }
        }
    }
}

/// Copy both ways; count request heads on the way up.
async fn relay(client: TcpStream, server: TcpStream, counts: Arc<Counts>) -> Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let down = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    });
    let mut heads = Heads::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = cr.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        sw.write_all(&buf[..n]).await?;
        let before = heads.count;
        heads.feed(&buf[..n]);
        counts
            .requests
            .fetch_add(heads.count - before, Ordering::Relaxed);
    }
    if heads.lost {
        counts.lost.store(true, Ordering::Relaxed);
    }
    let _ = sw.shutdown().await;
    let _ = down.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Heads;

    fn count(stream: &[u8], byte_by_byte: bool) -> Heads {
        let mut h = Heads::default();
        if byte_by_byte {
            for b in stream {
                h.feed(std::slice::from_ref(b));
            }
        } else {
            h.feed(stream);
        }
        h
    }

    #[test]
    fn counts_heads_not_bodies_on_a_kept_alive_connection() {
        // The PUT's 5-byte body looks like the start of a request line.
        let stream = b"PUT /b/k HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nGET /\
GET /b/k HTTP/1.1\r\nhost: x\r\n\r\n\
DELETE /b/k HTTP/1.1\r\nhost: x\r\nContent-Length: 0\r\n\r\n";
        for byte_by_byte in [false, true] {
            let h = count(stream, byte_by_byte);
            assert_eq!(h.count, 3, "byte by byte: {byte_by_byte}");
            assert!(!h.lost);
        }
    }

    #[test]
    fn a_chunked_body_is_reported_as_lost() {
        let stream =
            b"PUT /b/k HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let h = count(stream, false);
        assert!(h.lost);
        assert_eq!(h.count, 1);
    }
}
