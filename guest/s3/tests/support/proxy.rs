//! A tiny HTTP proxy for fault injection: every connection carries one
//! request (wasi:http opens a connection per request). The proxy reads the
//! request head and body, records `METHOD path`, and then either answers
//! with a planned fault (a status with an S3 error document, or a
//! connection reset) or forwards the bytes to the upstream server and the
//! answer back.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and S3 error code.
    Status(u16, &'static str),
    /// Close the connection with a TCP reset, no answer.
    Reset,
    /// Forward the request to the server, read its answer, then reset the
    /// connection instead of passing the answer on: the request took effect
    /// but the client cannot know (an ambiguous failure).
    ResetAfterForward,
}

struct Rule {
    /// Applies to requests whose `METHOD path?query` contains this.
    matching: String,
    fault: Fault,
    remaining: usize,
}

#[derive(Default)]
struct State {
    seen: Vec<String>,
    faults: Vec<String>,
    /// Forwarded requests the upstream closed without a byte of answer.
    dropped: Vec<String>,
    rules: Vec<Rule>,
}

/// A running proxy; stops with the test's runtime.
#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Listen on a free local port and forward to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let (st, upstream) = (st.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(conn, &upstream, &st).await;
                });
            }
        });
        Proxy { addr, state }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests containing `matching` (e.g. `"GET "`, `"PUT
    /// /bucket/key"`, or `""` for any) get `fault`.
    pub fn fail_next(&self, n: usize, matching: &str, fault: Fault) {
        self.state.lock().unwrap().rules.push(Rule {
            matching: matching.to_string(),
            fault,
            remaining: n,
        });
    }

    /// Drop every pending fault.
    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Every request seen (`METHOD path?query`), faulted or not.
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The requests that were answered with a fault.
    pub fn faulted(&self) -> Vec<String> {
        self.state.lock().unwrap().faults.clone()
    }

    /// Forwarded requests the upstream dropped without answering.
    pub fn dropped_by_upstream(&self) -> Vec<String> {
        self.state.lock().unwrap().dropped.clone()
    }

    /// Forget what was seen.
    pub fn reset_counts(&self) {
        let mut s = self.state.lock().unwrap();
        s.seen.clear();
        s.faults.clear();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn serve(mut conn: TcpStream, upstream: &str, st: &Mutex<State>) -> std::io::Result<()> {
    // The head, then as much body as content-length says.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let request_line = head.lines().next().unwrap_or_default().to_string();
    let what = request_line
        .rsplit_once(' ')
        .map(|(a, _)| a.to_string())
        .unwrap_or(request_line);
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let fault = {
        let mut s = st.lock().unwrap();
        s.seen.push(what.clone());
        let fault = s
            .rules
            .iter_mut()
            .find(|r| r.remaining > 0 && what.contains(&r.matching))
            .map(|r| {
                r.remaining -= 1;
                r.fault.clone()
            });
        if fault.is_some() {
            s.faults.push(what.clone());
        }
        fault
    };
    match fault {
        Some(Fault::Reset) => {
            conn.set_zero_linger()?;
            drop(conn);
            Ok(())
        }
        Some(Fault::ResetAfterForward) => {
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(&buf).await?;
            let mut answer = Vec::new();
            // The server answers with connection: keep-alive, so read just
            // the head: that it answered is all that matters here.
            while find(&answer, b"\r\n\r\n").is_none() {
                let n = up.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&chunk[..n]);
            }
            conn.set_zero_linger()?;
            drop(conn);
            Ok(())
        }
        Some(Fault::Status(status, code)) => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the test proxy</Message><RequestId>proxy</RequestId></Error>"
            );
            let resp = format!(
                "HTTP/1.1 {status} Injected\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(resp.as_bytes()).await?;
            conn.shutdown().await
        }
        None => {
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(&buf).await?;
            let (mut cr, mut cw) = conn.split();
            let (mut ur, mut uw) = up.split();
            let (answered, _) = tokio::join!(
                async {
                    let n = tokio::io::copy(&mut ur, &mut cw).await.unwrap_or(0);
                    let _ = cw.shutdown().await;
                    n
                },
                async {
                    let _ = tokio::io::copy(&mut cr, &mut uw).await;
                    let _ = uw.shutdown().await;
                }
            );
            if answered == 0 {
                st.lock().unwrap().dropped.push(what);
            }
            Ok(())
        }
    }
}
