//! Figure c: lock acquire+release latency through the components, on the
//! filesystem (fs-datastore) and on SeaweedFS (s3-datastore).

use crate::fragment::{Comparison, Fragment};
use crate::measure::{self, Samples};
use crate::setup::{self, Run, s};
use anyhow::{Result, anyhow};
use serde_json::json;
use swamp_host::{Lock, LockOptions};

async fn acquire_release(lock: &Lock, warmup: usize, n: usize) -> Samples {
    measure::time_async(warmup, n, move || async move {
        lock.acquire().await.expect("acquire");
        lock.release().await.expect("release");
    })
    .await
}

pub async fn run(run: &Run) -> Result<Fragment> {
    let host = setup::host(None)?;

    let dir = tempfile::tempdir()?;
    let fs_plugin = setup::plugin(&host, "fs-datastore").await?;
    let fs = setup::open(&fs_plugin, json!({"path": s(dir.path())})).await?;
    let fs_lock = fs
        .create_lock(s(dir.path()), LockOptions::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let (warmup, n) = run.pick((100, 2000), (10, 100));
    let on_fs = acquire_release(&fs_lock, warmup, n).await;

    let bucket = "bench-locks";
    let s3 = setup::seaweedfs(bucket)?;
    let s3_plugin = setup::plugin(&host, "s3-datastore").await?;
    let remote = setup::open(&s3_plugin, setup::s3_config(&s3, bucket, "locks", 8)).await?;
    let s3_lock = remote
        .create_lock("/repo/.swamp", LockOptions::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let (warmup, n) = run.pick((20, 300), (5, 30));
    let before = s3_lock.usage().http_requests;
    let on_s3 = acquire_release(&s3_lock, warmup, n).await;
    let requests = (s3_lock.usage().http_requests - before) as f64 / (warmup + n) as f64;

    let mut f = Fragment::new("c", "Lock acquire+release latency: filesystem vs SeaweedFS");
    for (side, samples) in [("filesystem", &on_fs), ("SeaweedFS", &on_s3)] {
        f.measure(
            format!("{side}, median"),
            measure::us(samples.median()),
            "µs",
        );
        f.measure(format!("{side}, p99"), measure::us(samples.p99()), "µs");
    }
    f.measure(
        "SeaweedFS requests per acquire+release",
        requests,
        "requests",
    );
    f.compare(Comparison::informative(
        "SeaweedFS ÷ filesystem (median)",
        measure::us(on_s3.median()) / measure::us(on_fs.median()),
    ));
    f.note(format!(
        "Uncontended acquire+release of the default lock key through the real components in \
         swamp-host ({} iterations on the filesystem, {} on SeaweedFS, after warm-up); SeaweedFS \
         {} runs on 127.0.0.1 on this machine, so the figure is the protocol's cost (conditional \
         PUT, then conditional DELETE), not a network's. No target is set for this figure.",
        on_fs.len(),
        on_s3.len(),
        seaweedfs_fixture::SEAWEEDFS_VERSION
    ));
    Ok(f)
}
