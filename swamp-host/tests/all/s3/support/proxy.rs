//! A tiny HTTP proxy for fault injection: every connection carries one
//! request. The host keeps connections alive, so the proxy asks the server
//! to close after each answer (`connection: close`, which the host's pool
//! honours), and every request comes on a connection of its own. It reads the
//! request head and body, records `METHOD path`, and then either answers
//! with a fault or forwards the bytes to the upstream server and the
//! answer back. Faults come from planned rules (`fail_next`: the next n
//! matching requests) or at random at a set rate (`set_rate`), drawn from
//! a seeded generator so a failing run can be replayed with its seed
//! (requests run concurrently, so a replay repeats the draws, not
//! necessarily which request got which).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Read the request, send nothing and hold the connection open until
    /// the client gives up (or [`STALL_LIMIT`] passes): a server that
    /// accepted the request and never answers.
    Stall,
    /// Forward the request, then pass on the server's status, headers (with
    /// the full `content-length`) and only the first half of the body, and
    /// close. An answer without a body is passed on whole and not counted.
    Truncate,
}

/// Longest a stalled connection is held (far beyond any request timeout
/// the tests configure).
pub const STALL_LIMIT: Duration = Duration::from_secs(120);

impl Fault {
    /// The kind, for counting: `"500"`, `"503"`, `"429"`, `"reset"`, ...
    pub fn kind(&self) -> String {
        match self {
            Fault::Status(s, _) => s.to_string(),
            Fault::Reset => "reset".into(),
            Fault::ResetAfterForward => "reset-after-forward".into(),
            Fault::Stall => "stall".into(),
            Fault::Truncate => "truncate".into(),
        }
    }

    /// Every kind of fault the proxy can inject at random: 5xx with S3
    /// error documents, throttling, resets before and after the request
    /// took effect, stalls and truncated bodies.
    pub fn all() -> Vec<Fault> {
        vec![
            Fault::Status(500, "InternalError"),
            Fault::Status(503, "ServiceUnavailable"),
            Fault::Status(503, "SlowDown"),
            Fault::Status(429, "SlowDown"),
            Fault::Reset,
            Fault::ResetAfterForward,
            Fault::Stall,
            Fault::Truncate,
        ]
    }
}

/// Faults at random: each request matching `matching` gets one of `kinds`
/// (uniformly) with probability `rate`.
struct Random {
    rate: f64,
    kinds: Vec<Fault>,
    matching: String,
    rng: fastrand::Rng,
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
    random: Option<Random>,
    /// Faults actually injected, by [`Fault::kind`].
    counts: BTreeMap<String, usize>,
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

    /// From now on, each request containing `matching` (`""` for any)
    /// gets one of `kinds` with probability `rate`, drawn from a generator
    /// seeded with `seed` (logged, so a failing run can be replayed).
    pub fn set_rate(&self, rate: f64, seed: u64, matching: &str, kinds: Vec<Fault>) {
        assert!((0.0..=1.0).contains(&rate) && !kinds.is_empty());
        eprintln!(
            "fault proxy {}: rate {rate} on {matching:?}, seed {seed}, kinds {:?}",
            self.addr,
            kinds.iter().map(Fault::kind).collect::<Vec<_>>()
        );
        self.state.lock().unwrap().random = Some(Random {
            rate,
            kinds,
            matching: matching.to_string(),
            rng: fastrand::Rng::with_seed(seed),
        });
    }

    /// Drop every pending fault, planned or random.
    pub fn clear(&self) {
        let mut s = self.state.lock().unwrap();
        s.rules.clear();
        s.random = None;
    }

    /// Faults injected so far, by kind (`"503"`, `"stall"`, ...).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.state.lock().unwrap().counts.clone()
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
        s.counts.clear();
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
        let planned = s
            .rules
            .iter_mut()
            .find(|r| r.remaining > 0 && what.contains(&r.matching))
            .map(|r| {
                r.remaining -= 1;
                r.fault.clone()
            });
        let fault = planned.or_else(|| {
            let r = s.random.as_mut()?;
            if !what.contains(&r.matching) || r.rng.f64() >= r.rate {
                return None;
            }
            let i = r.rng.usize(..r.kinds.len());
            Some(r.kinds[i].clone())
        });
        // A truncation is counted once it is known there was a body to cut.
        if let Some(f) = &fault
            && *f != Fault::Truncate
        {
            s.faults.push(what.clone());
            *s.counts.entry(f.kind()).or_default() += 1;
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
        Some(Fault::Stall) => {
            // Nothing is forwarded; wait for the client to hang up.
            let _ = tokio::time::timeout(STALL_LIMIT, async {
                while let Ok(n) = conn.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
            Ok(())
        }
        Some(Fault::Truncate) => {
            // Ask the server to close after its answer, so the whole answer
            // is what arrives before EOF (chunked or not).
            let forwarded = [
                &buf[..head_end - 2],
                b"connection: close\r\n\r\n",
                &buf[head_end..],
            ]
            .concat();
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(&forwarded).await?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).await?;
            let Some(body_start) = find(&answer, b"\r\n\r\n").map(|i| i + 4) else {
                return Ok(());
            };
            let body = answer.len() - body_start;
            let head_only = request_line_method(&what) == "HEAD";
            if body == 0 || head_only {
                // Nothing to cut: pass the answer on untouched.
                conn.write_all(&answer).await?;
                return conn.shutdown().await;
            }
            {
                let mut s = st.lock().unwrap();
                s.faults.push(what.clone());
                *s.counts.entry(Fault::Truncate.kind()).or_default() += 1;
            }
            conn.write_all(&answer[..body_start + body / 2]).await?;
            conn.flush().await?;
            // A plain close (FIN): the client sees the body end early.
            conn.shutdown().await
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
            // One request per connection (see the top of this file).
            let forwarded = [
                &buf[..head_end - 2],
                b"connection: close\r\n\r\n",
                &buf[head_end..],
            ]
            .concat();
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(&forwarded).await?;
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

/// `GET` of `GET /bucket/key`.
fn request_line_method(what: &str) -> &str {
    what.split(' ').next().unwrap_or_default()
}
