//! The native baseline: a tokio + hyper client issuing the requests the
//! s3-datastore issues for the file bodies (PutObject with the body's
//! SHA-256 signed, GetObject streamed to a file), with the same number of
//! requests in flight. Each worker owns one keep-alive HTTP/1.1 connection,
//! as a tuned native client would: this is the practical limit.
//!
//! Requests are signed with the project's own SigV4 signer
//! (`s3_datastore::sigv4`, pure Rust, compiled natively here) so both sides
//! sign byte-identical canonical requests; the listing is parsed with the
//! component's own `xml` types.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use s3_datastore::sigv4;
use s3_datastore::xml::{self, ListBucketResult};
use tokio::net::TcpStream;

/// Where and as whom the client talks.
#[derive(Clone)]
pub struct Target {
    /// `host:port` of the S3 endpoint (plain HTTP).
    pub authority: String,
    pub bucket: String,
    pub region: String,
    pub creds: sigv4::Credentials,
}

/// The client and its request counter.
pub struct Native {
    target: Target,
    requests: AtomicU64,
}

type Conn = SendRequest<Full<Bytes>>;

/// How the native client works; the default is the practical limit, the
/// others each add one cost the component pays, to tell the costs apart.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// A new TCP connection for every request (as wasi:http in the host
    /// makes) instead of one kept-alive connection per worker.
    pub connection_per_request: bool,
    /// Downloads land in a temporary file that is fsynced, then renamed
    /// into place (as the sync engine makes them durable).
    pub durable_writes: bool,
}

impl Native {
    pub fn new(target: Target) -> Arc<Native> {
        Arc::new(Native {
            target,
            requests: AtomicU64::new(0),
        })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    async fn connect(&self) -> Result<Conn> {
        let tcp = TcpStream::connect(&self.target.authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.target.authority))?;
        tcp.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped; an error surfaces on the
            // next request through the sender.
            let _ = conn.await;
        });
        Ok(send)
    }

    /// Send one signed request for `key` (none: the bucket) and return the
    /// status and the body.
    async fn send(
        &self,
        conn: &mut Conn,
        method: &str,
        key: Option<&str>,
        query: &[(String, String)],
        body: Bytes,
    ) -> Result<(u16, Bytes)> {
        let (status, _, body) = self.send_with(conn, method, key, query, &[], body).await?;
        Ok((status, body))
    }

    /// [`Native::send`] with `extra` headers signed along, also returning
    /// the response headers.
    async fn send_with(
        &self,
        conn: &mut Conn,
        method: &str,
        key: Option<&str>,
        query: &[(String, String)],
        extra: &[(String, String)],
        body: Bytes,
    ) -> Result<(u16, http::HeaderMap, Bytes)> {
        let t = &self.target;
        let path = match key {
            Some(k) => format!("/{}/{}", t.bucket, sigv4::encode_path(k)),
            None => format!("/{}", t.bucket),
        };
        let payload_hash = sigv4::sha256_hex(&body);
        let date = sigv4::amz_date(time::OffsetDateTime::now_utc());
        let mut headers = vec![
            ("x-amz-date".to_string(), date.clone()),
            ("x-amz-content-sha256".to_string(), payload_hash.clone()),
        ];
        headers.extend(extra.iter().cloned());
        let auth = sigv4::authorization(
            &t.creds,
            &sigv4::Request {
                method,
                host: &t.authority,
                path: &path,
                query,
                headers: &headers,
                payload_hash: &payload_hash,
                region: &t.region,
                service: "s3",
            },
            &date,
        );
        let q = sigv4::canonical_query(query);
        let uri = if q.is_empty() {
            path
        } else {
            format!("{path}?{q}")
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", &t.authority)
            .header("authorization", auth);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if method == "PUT" {
            req = req.header("content-length", body.len());
        }
        conn.ready().await?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = conn.send_request(req.body(Full::new(body))?).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, headers, bytes))
    }

    /// What a push after one edit asks of the server for a v1 index,
    /// without the client's own work: GET `key`, then PUT the same bytes
    /// back with `If-Match` on the ETag just read, `times` times on one
    /// kept-alive connection. Returns the median GET and PUT in ms and the
    /// object's size.
    pub async fn index_rewrite(&self, key: &str, times: usize) -> Result<(f64, f64, usize)> {
        let mut conn = self.connect().await?;
        let (mut gets, mut puts, mut size) = (Vec::new(), Vec::new(), 0);
        for _ in 0..times.max(1) {
            let t = std::time::Instant::now();
            let (status, headers, body) = self
                .send_with(&mut conn, "GET", Some(key), &[], &[], Bytes::new())
                .await?;
            gets.push(t.elapsed().as_secs_f64() * 1000.0);
            if status != 200 {
                bail!("GET {key}: HTTP {status}");
            }
            let etag = headers
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .with_context(|| format!("GET {key} answered no ETag"))?
                .to_string();
            size = body.len();
            let t = std::time::Instant::now();
            let (status, _, answer) = self
                .send_with(
                    &mut conn,
                    "PUT",
                    Some(key),
                    &[],
                    &[("if-match".into(), etag)],
                    body,
                )
                .await?;
            puts.push(t.elapsed().as_secs_f64() * 1000.0);
            if status != 200 {
                bail!(
                    "PUT {key} with If-Match: HTTP {status}: {}",
                    String::from_utf8_lossy(&answer)
                );
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        Ok((median(&mut gets), median(&mut puts), size))
    }

    /// Run `job(i)` for every `i < n` on `concurrency` workers, each with
    /// its own connection.
    async fn run<F, Fut>(
        self: &Arc<Self>,
        n: usize,
        concurrency: usize,
        mode: Mode,
        job: F,
    ) -> Result<()>
    where
        F: Fn(Arc<Native>, Conn, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Conn>> + Send,
    {
        let next = Arc::new(AtomicUsize::new(0));
        let job = Arc::new(job);
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let (me, next, job) = (self.clone(), next.clone(), job.clone());
            workers.spawn(async move {
                let mut conn = me.connect().await?;
                let mut fresh = true;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), anyhow::Error>(());
                    }
                    if mode.connection_per_request && !fresh {
                        conn = me.connect().await?;
                    }
                    fresh = false;
                    conn = job(me.clone(), conn, i).await?;
                }
            });
        }
        while let Some(done) = workers.join_next().await {
            done??;
        }
        Ok(())
    }

    /// PUT every file `rels` under `source` as `{prefix}{rel}`.
    pub async fn push(
        self: &Arc<Self>,
        source: &Path,
        prefix: &str,
        rels: Arc<Vec<String>>,
        concurrency: usize,
        mode: Mode,
    ) -> Result<()> {
        let (source, prefix) = (source.to_path_buf(), prefix.to_string());
        let n = rels.len();
        self.run(n, concurrency, mode, move |me, mut conn, i| {
            let (rel, path, prefix) = (rels[i].clone(), source.join(&rels[i]), prefix.clone());
            async move {
                let body = tokio::fs::read(&path)
                    .await
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let key = format!("{prefix}{rel}");
                let (status, resp) = me
                    .send(&mut conn, "PUT", Some(&key), &[], body.into())
                    .await?;
                if status != 200 {
                    bail!(
                        "PUT {key}: HTTP {status}: {}",
                        String::from_utf8_lossy(&resp)
                    );
                }
                Ok(conn)
            }
        })
        .await
    }

    /// Every key under `prefix` (ListObjectsV2, page by page).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut conn = self.connect().await?;
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("list-type".to_string(), "2".to_string()),
                ("prefix".to_string(), prefix.to_string()),
            ];
            if let Some(t) = &token {
                query.push(("continuation-token".to_string(), t.clone()));
            }
            let (status, body) = self
                .send(&mut conn, "GET", None, &query, Bytes::new())
                .await?;
            if status != 200 {
                bail!(
                    "ListObjectsV2 {prefix}: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            let page: ListBucketResult = xml::parse(&body)
                .map_err(|e| anyhow::anyhow!("ListObjectsV2 answer unreadable: {e}"))?;
            keys.extend(page.contents.into_iter().map(|o| o.key));
            match (page.is_truncated, page.next_continuation_token) {
                (true, Some(t)) => token = Some(t),
                _ => return Ok(keys),
            }
        }
    }

    /// List `prefix` and GET every object into `dest` (the key without the
    /// prefix as the relative path). Returns the number of files.
    pub async fn pull(
        self: &Arc<Self>,
        prefix: &str,
        dest: &Path,
        concurrency: usize,
        mode: Mode,
    ) -> Result<usize> {
        let keys = Arc::new(self.list(prefix).await?);
        let (dest, prefix) = (dest.to_path_buf(), prefix.to_string());
        let n = keys.len();
        self.run(n, concurrency, mode, move |me, mut conn, i| {
            let key = keys[i].clone();
            let path = key
                .strip_prefix(&prefix)
                .map(|rel| dest.join(rel))
                .with_context(|| format!("listed key {key} is not under {prefix}"));
            async move {
                let path = path?;
                let (status, body) = me
                    .send(&mut conn, "GET", Some(&key), &[], Bytes::new())
                    .await?;
                if status != 200 {
                    bail!(
                        "GET {key}: HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                if mode.durable_writes {
                    write_durably(&path, &body).await?;
                } else {
                    tokio::fs::write(&path, &body)
                        .await
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
                Ok(conn)
            }
        })
        .await?;
        Ok(n)
    }
}

/// Write `body` to a temporary file beside `path`, fsync it, rename it
/// into place: what the sync engine does with every download.
async fn write_durably(path: &Path, body: &[u8]) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let tmp = path.with_extension("tmp-native");
    let mut f = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(body).await?;
    f.sync_all().await?;
    drop(f);
    tokio::fs::rename(&tmp, path)
        .await
        .with_context(|| format!("cannot rename into {}", path.display()))?;
    Ok(())
}
