//! Profiling aid, not a figure: one s3-datastore push and pull of a tree
//! through swamp-host, each phase announced on stderr with this process's
//! id, so `perf record -p <pid>` (or `strace -f -p`) can watch one phase.
//! `SWAMP_PROFILE_FILES` (default 2000), `SWAMP_PROFILE_WAIT_S` (seconds
//! to wait before each phase, default 0), `SWAMP_PROFILE_CONCURRENCY`
//! (default 25), `SWAMP_PROFILE_EDITS` (pushes and pulls of one edited
//! file afterwards, default 0). `RUST_LOG=swamp_host::http_client=debug`
//! prints each request's time to its response headers (the server's share). With `SWAMP_HOST_PERFMAP=1` guest functions are named.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bench_sync_compare::tree;
use seaweedfs_fixture::SeaweedFs;
use serde_json::json;
use swamp_host::{Host, HostOptions, OpenOptions, SyncOptions};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let files = env_num("SWAMP_PROFILE_FILES", 2000) as usize;
    let wait = Duration::from_secs(env_num("SWAMP_PROFILE_WAIT_S", 0));
    let concurrency = env_num("SWAMP_PROFILE_CONCURRENCY", 25);
    let s3 = SeaweedFs::start();
    s3.create_bucket("profile").map_err(anyhow::Error::msg)?;
    let work = tempfile::Builder::new().prefix("profile-sync-").tempdir()?;
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    let rels = tree::generate(&a, files, 4096, 7)?;
    for d in [&b, &a.with_extension("repo"), &b.with_extension("repo")] {
        std::fs::create_dir_all(d)?;
    }
    let wasm = host_harness::bundled::guest("s3-datastore").map_err(anyhow::Error::msg)?;
    let host = Host::new(HostOptions {
        env_source: Arc::new(|_| None),
        ..HostOptions::default()
    })?;
    let plugin = host.load(&wasm).await?;
    let mut config = s3.datastore_config("profile", "p");
    config["pushConcurrency"] = json!(concurrency);
    config["pullConcurrency"] = json!(concurrency);
    let provider = plugin.open(config, OpenOptions::default()).await?;
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let sa = provider
        .create_sync_service(&s(&a.with_extension("repo")), &s(&a))
        .await?
        .context("no sync")?;
    let sb = provider
        .create_sync_service(&s(&b.with_extension("repo")), &s(&b))
        .await?
        .context("no sync")?;
    let opts = SyncOptions {
        timeout_ms: Some(900_000),
        ..SyncOptions::default()
    };
    let pid = std::process::id();
    sa.mark_dirty(&opts).await?;
    eprintln!("pid {pid}: push in {wait:?}");
    tokio::time::sleep(wait).await;
    let t = Instant::now();
    let n = sa.push_changed(&opts).await?;
    eprintln!("push: {n} files in {:?}", t.elapsed());
    eprintln!("pid {pid}: pull in {wait:?}");
    tokio::time::sleep(wait).await;
    let t = Instant::now();
    let n = sb.pull_changed(&opts).await?;
    eprintln!("pull: {n} files in {:?}", t.elapsed());
    tree::verify("profile", &a, &b, &rels)?;
    let edits = env_num("SWAMP_PROFILE_EDITS", 0) as usize;
    if edits > 0 {
        eprintln!("pid {pid}: {edits} edit pushes and pulls in {wait:?}");
        tokio::time::sleep(wait).await;
    }
    for i in 0..edits {
        let rel = &rels[(i * 7919) % rels.len()];
        let path = a.join(rel);
        let mut bytes = std::fs::read(&path)?;
        bytes.iter_mut().for_each(|b| *b ^= 0x5a);
        std::fs::write(&path, &bytes)?;
        let t = Instant::now();
        sa.mark_dirty(&SyncOptions {
            rel_path: Some(rel.clone()),
            ..opts.clone()
        })
        .await?;
        let n = sa.push_changed(&opts).await?;
        let push = t.elapsed();
        let t = Instant::now();
        let m = sb.pull_changed(&opts).await?;
        eprintln!(
            "edit {i}: push {n} in {push:?}, pull {m} in {:?}",
            t.elapsed()
        );
    }
    eprintln!("connections opened: {}", host.http_connections_opened());
    Ok(())
}
