//! Helpers shared by the integration tests: a host, the component, a
//! config for a SeaweedFS bucket, and the fault-injecting proxy.

pub mod proxy;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use scenarios::s;
use seaweedfs_fixture::SeaweedFs;
use serde_json::{Value, json};
use swamp_host::{Host, HostOptions, Limits, OpenOptions, Plugin, Provider, SyncService};

/// A host with no environment passed through and its wall clock skewed by
/// `skew_ms` (0: the real clock).
pub fn host_with_skew(skew_ms: i64) -> Host {
    Host::new(HostOptions {
        cache_dir: None,
        env_source: Arc::new(|_| None),
        limits: Limits {
            wall_clock_skew_ms: skew_ms,
            ..Limits::default()
        },
        ..HostOptions::default()
    })
    .unwrap()
}

pub fn host() -> Host {
    host_with_skew(0)
}

pub async fn plugin(host: &Host) -> Plugin {
    let wasm = std::path::PathBuf::from(test_guests_artifacts::S3_DATASTORE);
    host.load(&wasm).await.unwrap()
}

/// A server with `bucket` created.
pub fn server(bucket: &str) -> SeaweedFs {
    let s3 = SeaweedFs::start();
    s3.create_bucket(bucket).unwrap();
    s3
}

/// The config of `bucket` under `prefix` on `s3`, credentials inline.
pub fn config(s3: &SeaweedFs, bucket: &str, prefix: &str) -> Value {
    let mut config = s3.datastore_config(bucket, prefix);
    config["requestTimeoutMs"] = json!(5000);
    config
}

pub async fn open(plugin: &Plugin, config: Value) -> Provider {
    plugin.open(config, OpenOptions::default()).await.unwrap()
}

/// A sync service on the cache directory `cache` (created).
pub async fn sync(provider: &Provider, cache: &Path) -> SyncService {
    std::fs::create_dir_all(cache).unwrap();
    let repo = cache.with_extension("repo");
    std::fs::create_dir_all(&repo).unwrap();
    provider
        .create_sync_service(s(&repo), s(cache))
        .await
        .unwrap()
        .expect("s3-datastore has a sync service")
}

/// Lowercase hex of `b`, as `swamp-host/tests/boto3_layout.py` takes and
/// gives file contents.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Write `content` at `cache/rel`, creating parents.
pub fn write(cache: &Path, rel: &str, content: &[u8]) {
    let p = cache.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// boto3 importable (installed with pip when missing), or why not.
pub fn boto3() -> Result<(), String> {
    static READY: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    READY
        .get_or_init(|| {
            let probe = || {
                Command::new("python3")
                    .args(["-c", "import boto3"])
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false)
            };
            if probe() {
                return Ok(());
            }
            let out = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "boto3",
                ])
                .output()
                .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
            if probe() {
                Ok(())
            } else {
                Err(format!(
                    "pip could not install boto3 ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        })
        .clone()
}

/// Skip (return from) the calling test when boto3 cannot be had.
macro_rules! require_boto3 {
    () => {
        if let Err(why) = $crate::s3::support::boto3() {
            eprintln!("SKIPPED: boto3 is not available, so this test cannot run: {why}");
            return;
        }
    };
}
pub(crate) use require_boto3;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_layout.py");

/// What the boto3 script needs to reach `bucket` (and `prefix`, `ns`).
pub fn boto3_spec(s3: &SeaweedFs, bucket: &str, prefix: &str, ns: Option<&str>) -> Value {
    json!({
        "endpoint": s3.endpoint(),
        "accessKey": s3.access_key(),
        "secretKey": s3.secret_key(),
        "bucket": bucket,
        "prefix": prefix,
        "namespace": ns,
    })
}

/// Run the boto3 script; its JSON summary, or a panic with its reason.
pub fn boto3_run(command: &str, spec: &Value) -> Value {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(command)
        .arg(spec.to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "boto3 {command} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every object key in `bucket` starting with `prefix`, listed by boto3.
pub fn list_keys(s3: &SeaweedFs, bucket: &str, prefix: &str) -> Vec<String> {
    let v = boto3_run("list", &boto3_spec(s3, bucket, prefix, None));
    serde_json::from_value(v["keys"].clone()).unwrap()
}

/// The remote index's entries (rel → entry) of the root `root` (the
/// prefix, with the namespace if any, and a trailing `/`): the shards when
/// `_index/_meta.json` says version 2, else the monolith.
pub fn remote_entries(s3: &SeaweedFs, bucket: &str, root: &str) -> serde_json::Map<String, Value> {
    let get = |k: &str| {
        s3.get_object(bucket, &format!("{root}{k}"))
            .unwrap()
            .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
    };
    match get("_index/_meta.json") {
        Some(meta) if meta["version"] == 2 => {
            let mut out = serde_json::Map::new();
            for pk in meta["partitions"].as_array().unwrap() {
                let shard = get(&format!("_index/{}.json", pk.as_str().unwrap()))
                    .unwrap_or_else(|| panic!("shard {pk} listed but missing"));
                out.extend(shard["entries"].as_object().unwrap().clone());
            }
            out
        }
        _ => get(".datastore-index.json").expect("monolith index")["entries"]
            .as_object()
            .unwrap()
            .clone(),
    }
}
