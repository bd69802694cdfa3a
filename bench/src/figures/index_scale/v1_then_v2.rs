//! The run of one index size that starts on swamp's v1 layout: the bucket
//! gets the monolith, one instance adopts it, zero-diff calls and pushes
//! after one edit are timed, then the index is migrated to v2 and the same
//! instance is timed again.

use super::tree::{long, rel, timed_calls, write_tree};
use super::{BUCKET, SETUP_CONCURRENCY};
use crate::measure::Samples;
use crate::setup::{self, Run, s};
use anyhow::{Result, anyhow, ensure};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use swamp_datastore_sdk::sync::index::Index;
use swamp_datastore_sdk::sync::rules;
use swamp_datastore_sdk::sync::shards::{self, Meta, Shard};
use swamp_host::SyncOptions;

/// What one index size measured.
pub(super) struct AtSize {
    pub entries: usize,
    pub setup: Duration,
    pub zero_push: Samples,
    pub zero_push_requests: u64,
    pub zero_pull: Samples,
    pub zero_pull_requests: u64,
    pub one_push: Samples,
    pub one_push_requests: u64,
    /// Zero-diff pulls once the index is the shard-first (v2) layout.
    pub zero_pull_v2: Samples,
    pub zero_pull_v2_requests: u64,
    /// Pushes after one mark-dirty on the v2 layout.
    pub one_push_v2: Samples,
    pub one_push_v2_requests: u64,
    pub memory_bytes: usize,
}

pub(super) async fn at_size(
    run: &Run,
    plugin: &swamp_host::Plugin,
    s3: &seaweedfs_fixture::SeaweedFs,
    n: usize,
) -> Result<AtSize> {
    // In memory when the machine has a tmpfs: this disk discards on unlink,
    // and removing 100,000 files from it took minutes.
    let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())?;
    let (cache, repo) = (dir.path().join("cache"), dir.path().join("repo"));
    std::fs::create_dir_all(&cache)?;
    std::fs::create_dir_all(&repo)?;
    let index = write_tree(&cache, n)?;
    let index_key = format!("scale-{n}/{}", rules::INDEX_FILE);
    s3.put_object(BUCKET, &index_key, &index)
        .map_err(|e| anyhow!("{e}"))?;
    let config = setup::s3_config(s3, BUCKET, &format!("scale-{n}"), SETUP_CONCURRENCY);
    let provider = setup::open(plugin, config).await?;
    let sync = provider
        .create_sync_service(s(&repo), s(&cache))
        .await
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("s3-datastore has no sync service"))?;
    let err = |e: swamp_host::HostError| anyhow!("{e}");

    let t = Instant::now();
    let pulled = sync.pull_changed(&long()).await.map_err(err)?;
    let setup = t.elapsed();
    ensure!(pulled == 0, "adopting the index downloaded {pulled} files");

    let iterations = run.pick(30, 5);
    let sync = &sync;
    let (zero_push, zero_push_requests) = timed_calls(sync, iterations, move |_| async move {
        let n = sync
            .push_changed(&SyncOptions::default())
            .await
            .map_err(err)?;
        ensure!(n == 0, "a zero-diff push pushed {n} files");
        Ok(())
    })
    .await?;
    let (zero_pull, zero_pull_requests) = timed_calls(sync, iterations, move |_| async move {
        let n = sync
            .pull_changed(&SyncOptions::default())
            .await
            .map_err(err)?;
        ensure!(n == 0, "a zero-diff pull pulled {n} files");
        Ok(())
    })
    .await?;
    let cache_ref = &cache;
    // Edit one file (a different one each time, `offset` apart between
    // series, in the middle of the tree), mark it, push.
    let one_edit = move |k: usize, offset: usize| async move {
        let r = rel((n / 2 + offset + k * 7) % n);
        sync.mark_dirty(&SyncOptions::rel_path(r.clone()))
            .await
            .map_err(err)?;
        std::fs::write(cache_ref.join(&r), format!("{{\"edited\": {k}}}\n"))?;
        let pushed = sync
            .push_changed(&SyncOptions::default())
            .await
            .map_err(err)?;
        ensure!(pushed == 1, "a push after one edit pushed {pushed} files");
        Ok(())
    };
    let edits = run.pick(10, 3);
    let (one_push, one_push_requests) = timed_calls(sync, edits, move |k| one_edit(k, 0)).await?;

    // The original's shard-first (v2) layout, as its migration makes it:
    // the monolith's entries split into shards by the partition function,
    // then `_meta.json` version 2. One pull reconciles; then zero-diff pulls.
    migrate_to_v2(s3, &format!("scale-{n}/"))?;
    let pulled = sync.pull_changed(&long()).await.map_err(err)?;
    ensure!(
        pulled == 0,
        "reconciling with the v2 layout pulled {pulled} files"
    );
    let (zero_pull_v2, zero_pull_v2_requests) =
        timed_calls(sync, iterations, move |_| async move {
            let n = sync
                .pull_changed(&SyncOptions::default())
                .await
                .map_err(err)?;
            ensure!(n == 0, "a zero-diff pull (v2) pulled {n} files");
            Ok(())
        })
        .await?;

    let (one_push_v2, one_push_v2_requests) =
        timed_calls(sync, edits, move |k| one_edit(k, 1)).await?;

    Ok(AtSize {
        one_push_v2,
        one_push_v2_requests,
        zero_pull_v2,
        zero_pull_v2_requests,
        entries: n,
        setup,
        zero_push,
        zero_push_requests,
        zero_pull,
        zero_pull_requests,
        one_push,
        one_push_requests,
        memory_bytes: sync.usage().memory_bytes,
    })
}

/// Rewrite the v1 index under `root` as the v2 (shard-first) layout.
fn migrate_to_v2(s3: &seaweedfs_fixture::SeaweedFs, root: &str) -> Result<()> {
    let key = format!("{root}{}", rules::INDEX_FILE);
    let bytes = s3
        .get_object(BUCKET, &key)
        .map_err(|e| anyhow!("{e}"))?
        .ok_or_else(|| anyhow!("{key} missing after the first push"))?;
    let (index, _) = Index::parse(&bytes, &key).map_err(|e| anyhow!("{e:?}"))?;
    let mut by_shard: BTreeMap<String, Shard> = BTreeMap::new();
    for (rel, entry) in index.entries {
        by_shard
            .entry(shards::shard_of(&rel))
            .or_default()
            .entries
            .insert(rel, entry);
    }
    for (pk, shard) in &by_shard {
        let key = format!("{root}{}", shards::shard_file(pk));
        s3.put_object(BUCKET, &key, &shard.to_compact())
            .map_err(|e| anyhow!("{e}"))?;
    }
    let meta = Meta::v1(by_shard.keys().cloned()).next_v2([]);
    s3.put_object(
        BUCKET,
        &format!("{root}{}", shards::META_FILE),
        &meta.to_compact(),
    )
    .map_err(|e| anyhow!("{e}"))
}
