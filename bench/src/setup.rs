//! What every figure starts from: the run's settings, a host, the two
//! components, a SeaweedFS server of our own.

use anyhow::{Context, Result, anyhow};
use seaweedfs_fixture::SeaweedFs;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use swamp_host::{Host, HostOptions, Limits, OpenOptions, Plugin, Provider};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct Run {
    /// `bench/results`.
    pub results: PathBuf,
    /// Smaller sizes and fewer iterations: a smoke test of the harness
    /// itself, never the published figures.
    pub quick: bool,
}

impl Run {
    /// `full` in a real run, `quick` in a smoke run.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// A host with no disk cache (each figure says when it wants one) and no
/// environment passed through.
pub fn host(cache_dir: Option<PathBuf>) -> Result<Host> {
    host_with(cache_dir, Limits::default())
}

/// As [`host`], with `limits` for every instance.
pub fn host_with(cache_dir: Option<PathBuf>, limits: Limits) -> Result<Host> {
    Host::new(HostOptions {
        cache_dir,
        limits,
        env_source: Arc::new(|_| None),
        ..HostOptions::default()
    })
    .map_err(|e| anyhow!("cannot make a host: {e}"))
}

/// The component built by `make guests` (built now if missing).
pub fn wasm(crate_name: &str) -> Result<PathBuf> {
    host_harness::bundled::guest(crate_name).map_err(|e| anyhow!(e))
}

pub async fn plugin(host: &Host, crate_name: &str) -> Result<Plugin> {
    let path = wasm(crate_name)?;
    host.load(&path)
        .await
        .map_err(|e| anyhow!("cannot load {}: {e}", path.display()))
}

pub async fn open(plugin: &Plugin, config: Value) -> Result<Provider> {
    plugin
        .open(config.clone(), OpenOptions::default())
        .await
        .map_err(|e| anyhow!("cannot open {config}: {e}"))
}

pub use scenarios::s;

/// A SeaweedFS server with `bucket` created.
pub fn seaweedfs(bucket: &str) -> Result<SeaweedFs> {
    let s3 = SeaweedFs::try_start().map_err(|e| anyhow!("cannot start SeaweedFS: {e}"))?;
    s3.create_bucket(bucket)
        .map_err(|e| anyhow!("cannot create bucket {bucket}: {e}"))?;
    Ok(s3)
}

/// The s3-datastore config of `bucket` under `prefix`.
pub fn s3_config(s3: &SeaweedFs, bucket: &str, prefix: &str, push_concurrency: u32) -> Value {
    let mut config = s3.datastore_config(bucket, prefix);
    config["pushConcurrency"] = json!(push_concurrency);
    config["pullConcurrency"] = json!(push_concurrency);
    config["requestTimeoutMs"] = json!(60000);
    config
}

/// This machine, for the report: CPU model, cores, memory, OS.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!(", Linux {}", k.trim()))
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {:.1} GiB RAM, {os}{kernel}",
        mem_kib as f64 / (1024.0 * 1024.0)
    )
}

/// Resident set and its peak of this process, in bytes.
pub fn rss() -> Result<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .ok_or_else(|| anyhow!("{name} missing from /proc/self/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}
