//! What a guest may touch, as data: the directories it sees, the HTTP
//! authorities it may reach, the environment it reads, and how much memory
//! and time it gets. A policy is derived from the component's config schema
//! (its `x-swamp-*` annotations) and the operator's config values, so a
//! guest can never reach more than the config it was given names.

use crate::error::{HostError, HostResult};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime_wasi_http::{RequestOptions, WasiHttpHooks};

/// Schema keyword marking a string property as a directory to mount.
pub const MOUNT_KEYWORD: &str = "x-swamp-mount";
/// Schema keyword marking a string property as a URL the guest may reach.
pub const ENDPOINT_KEYWORD: &str = "x-swamp-endpoint";
/// Root schema keyword listing the environment variables passed through.
pub const ENV_KEYWORD: &str = "x-swamp-env";
/// Schema keyword marking a string property as an AWS region: when the
/// config names no endpoint, the guest may reach that region's S3 service
/// (`https://s3.{region}.amazonaws.com` and its virtual-hosted buckets).
/// The host, not the guest, knows what that means, so a guest cannot widen
/// it beyond AWS.
pub const AWS_REGION_KEYWORD: &str = "x-swamp-aws-region";

/// Memory and time bounds of one guest instance.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest linear memory (and table growth) the guest may reach.
    pub memory_bytes: usize,
    /// Deadline of a call that has no deadline of its own (inspect, verify,
    /// create-*), enforced by epoch interruption and a wall-clock timeout.
    pub call_timeout: Duration,
    /// Extra time granted beyond a call's own budget (max-wait of acquire,
    /// timeout-ms of a sync call) before the host stops it.
    pub grace: Duration,
    /// Longest wait for a connection and for the first byte of an HTTP
    /// response (the wasi:http default is 600 s).
    pub http_timeout: Duration,
    /// Most HTTP requests in flight to one authority (scheme, host, port),
    /// over every guest of a host, and so most connections the host opens
    /// to it: a request beyond waits for one to finish (within
    /// `http_timeout`). Read once, from [`crate::HostOptions::limits`], by
    /// `Host::new`; the host's connections are shared by its instances.
    pub http_requests_per_authority: usize,
    /// Milliseconds added to the wall clock the guest sees (negative: behind).
    /// Zero in production; tests skew a guest's clock to prove that lock
    /// staleness is judged by the server's clock, not the client's.
    pub wall_clock_skew_ms: i64,
    /// Run the guest's file operations on the thread that runs the guest
    /// instead of tokio's blocking pool. A file call then costs a few
    /// microseconds instead of a thread hand-off each way (`make bench`,
    /// figure a). The call's wall-clock deadline still holds when a file
    /// operation hangs (a dead network share): the guest runs in a task
    /// of its own and the caller waits for it with the deadline (see
    /// `Instance::call` in `instance.rs`); the hung task then holds one
    /// runtime worker until the kernel gives up. On by default; off puts
    /// every file call on the blocking pool, so no worker is ever held.
    pub file_io_on_caller_thread: bool,
    /// Mount every directory read-only. Never in production: the
    /// conformance suite gives a verifier a datastore it cannot write this
    /// way (root may write anywhere on the host, but not through a
    /// read-only mount).
    pub read_only_mounts: bool,
    /// Pause the guest this long each time it calls into the host (a file,
    /// clock or HTTP call). Never in production: the conformance suite
    /// widens race windows this way, so a lock whose acquire looks and
    /// then creates in two steps lets a second holder in on every run, not
    /// only when the scheduler happens to interleave the contenders.
    pub pause_at_host_calls: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 * 1024 * 1024,
            call_timeout: Duration::from_secs(60),
            grace: Duration::from_secs(10),
            http_timeout: Duration::from_secs(30),
            http_requests_per_authority: 64,
            wall_clock_skew_ms: 0,
            file_io_on_caller_thread: true,
            read_only_mounts: false,
            pause_at_host_calls: Duration::ZERO,
        }
    }
}

/// An HTTP authority the guest may reach: host and effective port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// `http` or `https`; a request over the other scheme is denied.
    pub scheme: String,
    /// The host name or IP address, in lower case.
    pub host: String,
    /// The port, the scheme's default (80 or 443) when the URL names none.
    pub port: u16,
    /// Also allow any subdomain of `host` (virtual-hosted S3 buckets).
    pub subdomains: bool,
}

impl Authority {
    /// Parse the authority of an absolute `http`/`https` URL.
    pub fn from_url(raw: &str) -> HostResult<Self> {
        let url = url::Url::parse(raw)
            .map_err(|e| HostError::Sandbox(format!("endpoint {raw:?} is not a URL: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(HostError::Sandbox(format!(
                "endpoint {raw:?} must use http or https"
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| HostError::Sandbox(format!("endpoint {raw:?} has no host")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| HostError::Sandbox(format!("endpoint {raw:?} has no port")))?;
        Ok(Self {
            scheme: url.scheme().to_string(),
            host: host.to_ascii_lowercase(),
            port,
            subdomains: false,
        })
    }

    /// Also allow subdomains when the host is a DNS name with a dot
    /// (`bucket.s3.example.com` for an endpoint `s3.example.com`: S3's
    /// virtual-hosted style). IP addresses and single-label names such as
    /// `localhost` stay exact.
    pub fn with_dns_subdomains(mut self) -> Self {
        let is_ip = self.host.parse::<std::net::IpAddr>().is_ok() || self.host.starts_with('[');
        self.subdomains = !is_ip && self.host.contains('.');
        self
    }

    /// The S3 service of an AWS region, with its virtual-hosted buckets.
    pub fn aws_s3(region: &str) -> HostResult<Self> {
        let valid = !region.is_empty()
            && region.len() <= 32
            && region.split('-').count() >= 3
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(HostError::Sandbox(format!(
                "{region:?} is not an AWS region name"
            )));
        }
        Ok(Self {
            scheme: "https".into(),
            host: format!("s3.{region}.amazonaws.com"),
            port: 443,
            subdomains: true,
        })
    }

    fn matches(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        let scheme = uri.scheme_str().unwrap_or("https");
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "http" { 80 } else { 443 });
        let host = host.to_ascii_lowercase();
        let host_ok = host == self.host
            || (self.subdomains
                && host
                    .strip_suffix(&self.host)
                    .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1));
        scheme == self.scheme && host_ok && port == self.port
    }
}

impl std::fmt::Display for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wildcard = if self.subdomains { "*." } else { "" };
        write!(f, "{}://{wildcard}{}:{}", self.scheme, self.host, self.port)
    }
}

/// Everything one instance is allowed.
#[derive(Debug, Clone, Default)]
pub struct SandboxPolicy {
    /// Directories mounted read-write at the same absolute path.
    pub mounts: Vec<PathBuf>,
    /// Directories named by the config that did not exist when the instance
    /// was made, and so are not mounted (the guest sees them as missing).
    pub missing_mounts: Vec<PathBuf>,
    /// HTTP authorities the guest may reach; everything else is denied.
    pub allowed_authorities: Vec<Authority>,
    /// Environment variables the guest sees, with their values.
    pub env: Vec<(String, String)>,
    /// Memory and time bounds of the instance, and the switches of how its
    /// calls run (see [`Limits`]).
    pub limits: Limits,
}

impl SandboxPolicy {
    /// Derive the policy from a (schema-valid) config: every property marked
    /// `x-swamp-mount` is a directory, every one marked `x-swamp-endpoint` a
    /// reachable authority, and `x-swamp-env` the variables passed through
    /// from `env_source` (the host's environment, unless a test overrides
    /// it). `extra_mounts` are the repo and cache directories of the call.
    pub fn derive(
        schema: &Value,
        config: &Value,
        extra_mounts: &[PathBuf],
        env_source: &dyn Fn(&str) -> Option<String>,
        limits: Limits,
    ) -> HostResult<Self> {
        let mut policy = SandboxPolicy {
            limits,
            ..Self::default()
        };
        let mut mounts = Vec::new();
        let mut endpoints = Vec::new();
        let mut regions = Vec::new();
        collect_annotated(schema, config, &mut mounts, &mut endpoints, &mut regions);
        // A relative path in the config cannot be mounted at "the same
        // path"; it is left out and the guest, which validates its config
        // again, refuses it with a proper invalid-config error.
        let from_config = mounts.iter().map(PathBuf::from).filter(|p| p.is_absolute());
        for m in from_config.chain(extra_mounts.iter().cloned()) {
            policy.add_mount(m)?;
        }
        let mut authorities = endpoints
            .iter()
            .map(|e| Authority::from_url(e).map(Authority::with_dns_subdomains))
            .collect::<HostResult<Vec<_>>>()?;
        if authorities.is_empty() {
            for region in &regions {
                authorities.push(Authority::aws_s3(region)?);
            }
        }
        for a in authorities {
            if !policy.allowed_authorities.contains(&a) {
                policy.allowed_authorities.push(a);
            }
        }
        if let Some(names) = schema.get(ENV_KEYWORD).and_then(Value::as_array) {
            for name in names.iter().filter_map(Value::as_str) {
                if let Some(v) = env_source(name) {
                    policy.env.push((name.to_string(), v));
                }
            }
        }
        Ok(policy)
    }

    /// Mount `dir` (absolute) at the same path; a directory that does not
    /// exist yet is remembered as missing rather than failing, so a verifier
    /// can report it.
    pub fn add_mount(&mut self, dir: PathBuf) -> HostResult<()> {
        if !dir.is_absolute() {
            return Err(HostError::Sandbox(format!(
                "mount {} is not an absolute path",
                dir.display()
            )));
        }
        if self.mounts.contains(&dir) || self.missing_mounts.contains(&dir) {
            return Ok(());
        }
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => self.mounts.push(dir),
            Ok(_) => self.missing_mounts.push(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.missing_mounts.push(dir),
            Err(e) => {
                return Err(HostError::Sandbox(format!(
                    "cannot mount {}: {e}",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

    /// Is a request to `uri` allowed?
    pub fn allows(&self, uri: &http::Uri) -> bool {
        self.allowed_authorities.iter().any(|a| a.matches(uri))
    }

    pub(crate) fn mounted(&self) -> impl Iterator<Item = &Path> {
        self.mounts.iter().map(PathBuf::as_path)
    }
}

/// Walk schema and config together, collecting the string values of
/// annotated properties (nested objects included).
fn collect_annotated(
    schema: &Value,
    config: &Value,
    mounts: &mut Vec<String>,
    endpoints: &mut Vec<String>,
    regions: &mut Vec<String>,
) {
    let (Some(props), Some(values)) = (
        schema.get("properties").and_then(Value::as_object),
        config.as_object(),
    ) else {
        return;
    };
    for (name, prop) in props {
        // A region may fall back to the schema's default: what it grants is
        // decided by the host (AWS's S3 service), never by the guest.
        let region_default = prop
            .get(AWS_REGION_KEYWORD)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .then(|| prop.get("default"))
            .flatten();
        let Some(value) = values.get(name).or(region_default) else {
            continue;
        };
        let flag = |k: &str| prop.get(k).and_then(Value::as_bool).unwrap_or(false);
        if let Some(s) = value.as_str() {
            if flag(MOUNT_KEYWORD) {
                mounts.push(s.to_string());
            }
            if flag(ENDPOINT_KEYWORD) {
                endpoints.push(s.to_string());
            }
            if flag(AWS_REGION_KEYWORD) {
                regions.push(s.to_string());
            }
        }
        collect_annotated(prop, value, mounts, endpoints, regions);
    }
}

/// The wasi:http hooks of one instance: the allow-list check, and request
/// timeouts capped by the policy (wasi:http's own default is 600 s).
pub(crate) struct HttpPolicy {
    pub allowed: Vec<Authority>,
    pub timeout: Duration,
    /// Every request refused, for the operator and for tests (wasi:http
    /// clients often report a denial as a generic connection error).
    pub denied: Arc<Mutex<Vec<String>>>,
    /// Counts the requests let through (see `InstanceUsage`).
    pub sent: Arc<crate::instance::Meters>,
    /// The host's pooled client, which sends what the allow-list lets through.
    pub client: crate::http_client::GuestHttpClient,
}

impl WasiHttpHooks for HttpPolicy {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        _ = fut;
        let uri = request.uri().clone();
        if !self.allowed.iter().any(|a| a.matches(&uri)) {
            tracing::warn!(%uri, "guest HTTP request denied: authority not in the allow-list");
            self.denied
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(uri.to_string());
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        self.sent
            .http_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cap = self.timeout;
        let capped = |t: Option<Duration>| Some(t.map_or(cap, |t| t.min(cap)));
        let options = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: capped(options.connect_timeout),
            first_byte_timeout: capped(options.first_byte_timeout),
            between_bytes_timeout: capped(options.between_bytes_timeout),
        };
        let client = self.client.clone();
        Box::new(async move {
            let res = client.send(request, options).await?;
            // The pool drives the connection; there is no per-request I/O
            // task to report on.
            let io = async { Ok(()) };
            Ok((res, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn mounts_and_endpoints_come_only_from_annotated_properties() {
        let dir = tempfile::tempdir().unwrap();
        let schema = json!({
            "properties": {
                "path": {"type": "string", "x-swamp-mount": true},
                "other": {"type": "string"},
                "endpoint": {"type": "string", "x-swamp-endpoint": true},
            }
        });
        let config = json!({
            "path": dir.path(),
            "other": "/etc",
            "endpoint": "http://127.0.0.1:8333",
        });
        let p = SandboxPolicy::derive(&schema, &config, &[], &no_env, Limits::default()).unwrap();
        assert_eq!(p.mounts, vec![dir.path().to_path_buf()]);
        assert_eq!(
            p.allowed_authorities,
            vec![Authority {
                scheme: "http".into(),
                host: "127.0.0.1".into(),
                port: 8333,
                subdomains: false
            }]
        );
        assert!(!p.allows(&"https://127.0.0.1:8333/b/k".parse().unwrap()));
        assert!(p.allows(&"http://127.0.0.1:8333/b/k".parse().unwrap()));
        assert!(!p.allows(&"http://127.0.0.1:8334/b/k".parse().unwrap()));
        assert!(!p.allows(&"http://localhost:8333/b/k".parse().unwrap()));
    }

    #[test]
    fn missing_directories_are_not_mounted() {
        let mut p = SandboxPolicy::default();
        p.add_mount(PathBuf::from("/definitely/not/here")).unwrap();
        assert!(p.mounts.is_empty());
        assert_eq!(
            p.missing_mounts,
            vec![PathBuf::from("/definitely/not/here")]
        );
        assert!(p.add_mount(PathBuf::from("relative")).is_err());
    }

    #[test]
    fn only_listed_variables_pass_through() {
        let schema = json!({"x-swamp-env": ["AWS_ACCESS_KEY_ID"]});
        let env = |k: &str| Some(format!("value-of-{k}"));
        let p = SandboxPolicy::derive(&schema, &json!({}), &[], &env, Limits::default()).unwrap();
        assert_eq!(
            p.env,
            vec![(
                "AWS_ACCESS_KEY_ID".to_string(),
                "value-of-AWS_ACCESS_KEY_ID".to_string()
            )]
        );
    }

    #[test]
    fn an_aws_region_allows_that_regions_s3_only_without_an_endpoint() {
        let schema = json!({"properties": {
            "region": {"type": "string", "x-swamp-aws-region": true},
            "endpoint": {"type": "string", "x-swamp-endpoint": true},
        }});
        let derive = |c| SandboxPolicy::derive(&schema, &c, &[], &no_env, Limits::default());
        let p = derive(json!({"region": "eu-west-1"})).unwrap();
        for ok in [
            "https://s3.eu-west-1.amazonaws.com/b/k",
            "https://my-bucket.s3.eu-west-1.amazonaws.com/k",
        ] {
            assert!(p.allows(&ok.parse().unwrap()), "{ok}");
        }
        for denied in [
            "https://s3.us-east-1.amazonaws.com/b",
            "https://evil.com/s3.eu-west-1.amazonaws.com",
            "https://xs3.eu-west-1.amazonaws.com/b",
            "http://s3.eu-west-1.amazonaws.com/b",
        ] {
            assert!(!p.allows(&denied.parse().unwrap()), "{denied}");
        }
        // Without a region value, the schema's default region counts.
        let with_default = json!({"properties": {
            "region": {"type": "string", "default": "us-east-1", "x-swamp-aws-region": true},
        }});
        let p = SandboxPolicy::derive(&with_default, &json!({}), &[], &no_env, Limits::default())
            .unwrap();
        assert!(p.allows(&"https://s3.us-east-1.amazonaws.com/b".parse().unwrap()));
        // A default on an endpoint grants nothing: only the operator names hosts.
        let endpoint_default = json!({"properties": {
            "endpoint": {"type": "string", "default": "https://evil.example", "x-swamp-endpoint": true},
        }});
        let p = SandboxPolicy::derive(
            &endpoint_default,
            &json!({}),
            &[],
            &no_env,
            Limits::default(),
        )
        .unwrap();
        assert!(p.allowed_authorities.is_empty());
        // With an endpoint, only the endpoint.
        let p =
            derive(json!({"region": "eu-west-1", "endpoint": "http://127.0.0.1:9000"})).unwrap();
        assert_eq!(p.allowed_authorities.len(), 1);
        // A region that is not a region name is refused.
        assert!(derive(json!({"region": "evil.com/x"})).is_err());
    }

    #[test]
    fn dns_endpoints_allow_virtual_hosted_buckets_ip_endpoints_do_not() {
        let schema =
            json!({"properties": {"endpoint": {"type": "string", "x-swamp-endpoint": true}}});
        let derive = |e: &str| {
            SandboxPolicy::derive(
                &schema,
                &json!({"endpoint": e}),
                &[],
                &no_env,
                Limits::default(),
            )
            .unwrap()
        };
        let p = derive("https://s3.example.com");
        assert!(p.allows(&"https://bucket.s3.example.com/k".parse().unwrap()));
        assert!(!p.allows(&"https://s3.example.com.evil.net/k".parse().unwrap()));
        assert!(!p.allows(&"https://example.com/k".parse().unwrap()));
        let p = derive("http://127.0.0.1:9000");
        assert!(!p.allows(&"http://bucket.127.0.0.1:9000/k".parse().unwrap()));
        let p = derive("http://localhost:9000");
        assert!(!p.allows(&"http://bucket.localhost:9000/k".parse().unwrap()));
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let a = Authority::from_url("https://s3.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(a.port, 443);
        assert!(a.matches(&"https://s3.eu-west-1.amazonaws.com/x".parse().unwrap()));
        assert!(Authority::from_url("ftp://x").is_err());
        assert!(Authority::from_url("not a url").is_err());
    }
}
