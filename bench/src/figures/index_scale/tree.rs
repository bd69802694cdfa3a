//! What both kinds of index-size run share: the files of the cache, laid
//! out as swamp lays out models' data, their index entries, and the timing
//! of a series of guest calls with the requests each made.

use super::{BUCKET, SETUP_CONCURRENCY};
use crate::measure::Samples;
use crate::setup::{self, s};
use anyhow::{Result, anyhow, ensure};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use swamp_host::{Provider, SyncOptions, SyncService};

/// Entries per model: each model's data is one shard of the v2 layout.
pub(super) const PER_MODEL: usize = 100;

/// The `i`th file, laid out as swamp lays out a model's data
/// (`data/{type}/{model id}/{data name}/{version}/raw`), so that the v2
/// layout's partition function gives each model a shard of its own, as in
/// a real repository.
pub(super) fn rel(i: usize) -> String {
    format!(
        "data/bench/item/m{:05}/d{:03}/1/raw",
        i / PER_MODEL,
        i % PER_MODEL
    )
}

/// Write `n` files into `cache`; the monolith index listing them.
pub(super) fn write_tree(cache: &Path, n: usize) -> Result<Vec<u8>> {
    let now = now()?;
    let mut entries = serde_json::Map::new();
    for (r, e) in write_files(cache, 0..n, &now)? {
        entries.insert(r, e);
    }
    let index = serde_json::json!({"version": 1, "lastPulled": now, "entries": entries});
    Ok(serde_json::to_vec(&index)?)
}

pub(super) fn long() -> SyncOptions {
    SyncOptions {
        timeout_ms: Some(3_600_000),
        ..SyncOptions::default()
    }
}

/// Run `call` `n` times; its samples and the most requests one call made.
pub(super) async fn timed_calls<F, Fut>(
    sync: &SyncService,
    n: usize,
    mut call: F,
) -> Result<(Samples, u64)>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut samples = Vec::with_capacity(n);
    let mut most = 0;
    for i in 0..n {
        let before = sync.usage().http_requests;
        let t = Instant::now();
        call(i).await?;
        samples.push(t.elapsed());
        most = most.max(sync.usage().http_requests - before);
    }
    Ok((Samples::new(samples), most))
}

/// Write the files `range` into `cache`; their index entries, as swamp
/// writes them, stamped `now`.
pub(super) fn write_files(
    cache: &Path,
    range: std::ops::Range<usize>,
    now: &str,
) -> Result<Vec<(String, serde_json::Value)>> {
    let mut out = Vec::with_capacity(range.len());
    for i in range {
        let r = rel(i);
        let p = cache.join(&r);
        std::fs::create_dir_all(p.parent().expect("parent"))?;
        let body = format!("{{\"entry\": {i}}}\n");
        std::fs::write(p, &body)?;
        let sha = hex::encode(Sha256::digest(body.as_bytes()));
        let e =
            serde_json::json!({"key": r, "size": body.len(), "lastModified": now, "sha256": sha});
        out.push((r, e));
    }
    Ok(out)
}

/// Now, as index entries stamp it.
pub(super) fn now() -> Result<String> {
    Ok(time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?)
}

/// A cache directory and a repository directory, in memory when the
/// machine has a tmpfs: this disk discards on unlink, and removing 100,000
/// files from it took minutes.
pub(super) fn workdirs() -> Result<(tempfile::TempDir, PathBuf, PathBuf)> {
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())?;
    let (cache, repo) = (dir.path().join("cache"), dir.path().join("repo"));
    std::fs::create_dir_all(&cache)?;
    std::fs::create_dir_all(&repo)?;
    Ok((dir, cache, repo))
}

/// A new s3-datastore instance on `prefix` of the bench bucket and its
/// sync service for `repo` and `cache`, after the first pull, which adopts
/// the index already in the bucket (checked to download nothing); that
/// pull's time.
pub(super) async fn adopted(
    plugin: &swamp_host::Plugin,
    s3: &seaweedfs_fixture::SeaweedFs,
    prefix: &str,
    repo: &Path,
    cache: &Path,
) -> Result<(Provider, SyncService, Duration)> {
    let config = setup::s3_config(s3, BUCKET, prefix, SETUP_CONCURRENCY);
    let provider = setup::open(plugin, config).await?;
    let sync = provider
        .create_sync_service(s(repo), s(cache))
        .await
        .map_err(err)?
        .ok_or_else(|| anyhow!("s3-datastore has no sync service"))?;
    let t = Instant::now();
    let pulled = sync.pull_changed(&long()).await.map_err(err)?;
    let took = t.elapsed();
    ensure!(
        pulled == 0,
        "adopting the index of {prefix} downloaded {pulled} files"
    );
    Ok((provider, sync, took))
}

pub(super) fn err(e: swamp_host::HostError) -> anyhow::Error {
    anyhow!("{e}")
}

/// `n` zero-diff pushes, each checked to push nothing; `what` names the
/// series in an error.
pub(super) async fn zero_diff_pushes(
    sync: &SyncService,
    n: usize,
    what: &str,
) -> Result<(Samples, u64)> {
    timed_calls(sync, n, move |_| async move {
        let pushed = sync
            .push_changed(&SyncOptions::default())
            .await
            .map_err(err)?;
        ensure!(
            pushed == 0,
            "a zero-diff push ({what}) pushed {pushed} files"
        );
        Ok(())
    })
    .await
}

/// `n` zero-diff pulls, each checked to pull nothing.
pub(super) async fn zero_diff_pulls(
    sync: &SyncService,
    n: usize,
    what: &str,
) -> Result<(Samples, u64)> {
    timed_calls(sync, n, move |_| async move {
        let pulled = sync
            .pull_changed(&SyncOptions::default())
            .await
            .map_err(err)?;
        ensure!(
            pulled == 0,
            "a zero-diff pull ({what}) pulled {pulled} files"
        );
        Ok(())
    })
    .await
}

/// `n` pushes after one edit of a tree of `size` files in `cache`: each
/// marks one file (a different one each time, `offset` apart between
/// series, in the middle of the tree), rewrites it and pushes it.
pub(super) async fn edit_pushes(
    sync: &SyncService,
    cache: &Path,
    size: usize,
    n: usize,
    offset: usize,
) -> Result<(Samples, u64)> {
    timed_calls(sync, n, move |k| async move {
        let r = rel((size / 2 + offset + k * 7) % size);
        sync.mark_dirty(&SyncOptions::rel_path(r.clone()))
            .await
            .map_err(err)?;
        std::fs::write(cache.join(&r), format!("{{\"edited\": {k}}}\n"))?;
        let pushed = sync
            .push_changed(&SyncOptions::default())
            .await
            .map_err(err)?;
        ensure!(pushed == 1, "a push after one edit pushed {pushed} files");
        Ok(())
    })
    .await
}
