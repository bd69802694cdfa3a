//! Figure g: memory while pushing one 1 GiB file through the s3-datastore
//! component to SeaweedFS: the guest's linear memory high-water mark (as
//! the host's resource limiter saw it grow) and the host process's resident
//! set before and after.

use crate::fragment::{Comparison, Fragment};
use crate::measure;
use crate::setup::{self, Run, s};
use anyhow::{Result, anyhow, ensure};
use std::io::Write;
use std::time::Instant;
use swamp_host::SyncOptions;

const BUCKET: &str = "bench-big";
const MIB: f64 = 1024.0 * 1024.0;
const TARGET_MIB: f64 = 64.0;

/// Write `len` bytes of a cheap pseudo-random stream (xorshift), so that
/// neither the filesystem nor the server can shortcut zeros.
fn write_file(path: &std::path::Path, len: u64) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

pub async fn run(run: &Run) -> Result<Fragment> {
    let len: u64 = run.pick(1 << 30, 64 << 20);
    let dir = tempfile::tempdir()?;
    let (cache, repo) = (dir.path().join("cache"), dir.path().join("repo"));
    std::fs::create_dir_all(cache.join("data"))?;
    std::fs::create_dir_all(&repo)?;
    write_file(&cache.join("data").join("big.bin"), len)?;

    let s3 = setup::seaweedfs(BUCKET)?;
    let host = setup::host(None)?;
    let plugin = setup::plugin(&host, "s3-datastore").await?;
    let provider = setup::open(&plugin, setup::s3_config(&s3, BUCKET, "big", 25)).await?;
    let sync = provider
        .create_sync_service(s(&repo), s(&cache))
        .await
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("s3-datastore has no sync service"))?;
    let opts = SyncOptions {
        timeout_ms: Some(1_800_000),
        ..SyncOptions::default()
    };
    sync.mark_dirty(&opts).await.map_err(|e| anyhow!("{e}"))?;
    let before = sync.usage();
    let (rss_before, hwm_before) = setup::rss()?;
    let t = Instant::now();
    let pushed = sync.push_changed(&opts).await.map_err(|e| anyhow!("{e}"))?;
    let took = t.elapsed();
    let (rss_after, hwm_after) = setup::rss()?;
    let after = sync.usage();
    ensure!(
        pushed == 1,
        "pushed {pushed} files, expected the one big file"
    );
    ensure!(
        s3.object_exists(BUCKET, "big/data/big.bin")
            .map_err(|e| anyhow!("{e}"))?,
        "the pushed file is not in the bucket"
    );

    let peak = after.memory_bytes as f64 / MIB;
    let mut f = Fragment::new("g", "Memory while pushing one 1 GiB file to SeaweedFS");
    f.measure("file size", len as f64 / MIB, "MiB");
    f.measure("guest linear memory high-water mark", peak, "MiB");
    f.measure(
        "guest linear memory before the push",
        before.memory_bytes as f64 / MIB,
        "MiB",
    );
    f.measure(
        "host resident set growth during the push",
        (rss_after as f64 - rss_before as f64) / MIB,
        "MiB",
    );
    f.measure(
        "host peak resident set growth during the push",
        (hwm_after as f64 - hwm_before as f64) / MIB,
        "MiB",
    );
    f.measure("push time", measure::ms(took) / 1000.0, "s");
    f.measure(
        "HTTP requests of the push",
        (after.http_requests - before.http_requests) as f64,
        "requests",
    );
    f.compare(Comparison::at_most(
        "guest peak memory ÷ 64 MiB",
        peak / TARGET_MIB,
        1.0,
    ));
    f.note(format!(
        "One file of {} MiB of pseudo-random bytes on the local disk, bulk-marked and pushed by \
         the s3-datastore component (multipart, 8 MiB parts) to SeaweedFS {} on 127.0.0.1. The \
         guest's peak is the sum of its linear memories as the host's resource limiter granted \
         them (wasm memories never shrink, so the final size is the peak). Host figures are \
         VmRSS/VmHWM of the bench process from /proc/self/status.",
        len / (1 << 20),
        seaweedfs_fixture::SEAWEEDFS_VERSION
    ));
    f.note(
        "Fixed here: the upload held 4 parts of 8 MiB in flight and each part twice (the call's \
         body, kept for retries, and the signed request's copy), so the guest peaked at 65 MiB; \
         it now holds 3 parts in flight (MAX_PARTS_IN_FLIGHT in guest/s3/src/client.rs).",
    );
    Ok(f)
}
