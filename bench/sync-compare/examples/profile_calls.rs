//! Profiling aid, not a figure: fs-datastore's lock inspect, acquire +
//! release and verify in a loop through swamp-host on a tmpfs directory,
//! each announced with this process's id (for `perf record -p`).
//! `SWAMP_PROFILE_ITERS` (default 20000).

use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use swamp_host::{Host, HostOptions, LockOptions, OpenOptions};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let n: usize = std::env::var("SWAMP_PROFILE_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20000);
    let dir = tempfile::Builder::new()
        .prefix("profile-calls-")
        .tempdir_in("/dev/shm")?;
    let path = dir.path().to_str().unwrap().to_string();
    let wasm = host_harness::bundled::guest("fs-datastore").map_err(anyhow::Error::msg)?;
    let host = Host::new(HostOptions::default())?;
    let plugin = host.load(&wasm).await?;
    let provider = plugin
        .open(json!({"path": path}), OpenOptions::default())
        .await?;
    let lock = provider.create_lock(&path, LockOptions::default()).await?;
    let verifier = provider.create_verifier().await?;
    eprintln!("pid {}", std::process::id());
    lock.acquire().await?;
    let t = Instant::now();
    for _ in 0..n {
        lock.inspect().await?;
    }
    eprintln!("inspect: {:?} each", t.elapsed() / n as u32);
    lock.release().await?;
    let t = Instant::now();
    for _ in 0..n / 4 {
        lock.acquire().await?;
        lock.release().await?;
    }
    eprintln!("acquire+release: {:?} each", t.elapsed() / (n / 4) as u32);
    let t = Instant::now();
    for _ in 0..n / 4 {
        verifier.verify().await?;
    }
    eprintln!("verify: {:?} each", t.elapsed() / (n / 4) as u32);
    let t = Instant::now();
    for _ in 0..n {
        provider.features().await?;
    }
    eprintln!("features (no I/O): {:?} each", t.elapsed() / n as u32);
    Ok(())
}
