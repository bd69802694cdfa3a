//! The run of one index size that starts on swamp's v1 layout: the bucket
//! gets the monolith, one instance adopts it, zero-diff calls and pushes
//! after one edit are timed, then the index is migrated to v2 and the same
//! instance is timed again.

use super::BUCKET;
use super::tree::{
    adopted, edit_pushes, err, long, workdirs, write_tree, zero_diff_pulls, zero_diff_pushes,
};
use crate::measure::Samples;
use crate::setup::Run;
use anyhow::{Result, anyhow, ensure};
use std::collections::BTreeMap;
use std::time::Duration;
use swamp_datastore_sdk::sync::index::Index;
use swamp_datastore_sdk::sync::rules;
use swamp_datastore_sdk::sync::shards::{self, Meta, Shard};

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
    let (_dir, cache, repo) = workdirs()?;
    let index = write_tree(&cache, n)?;
    let index_key = format!("scale-{n}/{}", rules::INDEX_FILE);
    s3.put_object(BUCKET, &index_key, &index)
        .map_err(|e| anyhow!("{e}"))?;
    let (_provider, sync, setup) =
        adopted(plugin, s3, &format!("scale-{n}"), &repo, &cache).await?;

    let iterations = run.pick(30, 5);
    let (zero_push, zero_push_requests) = zero_diff_pushes(&sync, iterations, "v1").await?;
    let (zero_pull, zero_pull_requests) = zero_diff_pulls(&sync, iterations, "v1").await?;
    let edits = run.pick(10, 3);
    let (one_push, one_push_requests) = edit_pushes(&sync, &cache, n, edits, 0).await?;

    // The original's shard-first (v2) layout, as its migration makes it:
    // the monolith's entries split into shards by the partition function,
    // then `_meta.json` version 2. One pull reconciles; then zero-diff pulls.
    migrate_to_v2(s3, &format!("scale-{n}/"))?;
    let pulled = sync.pull_changed(&long()).await.map_err(err)?;
    ensure!(
        pulled == 0,
        "reconciling with the v2 layout pulled {pulled} files"
    );
    let (zero_pull_v2, zero_pull_v2_requests) = zero_diff_pulls(&sync, iterations, "v2").await?;
    let (one_push_v2, one_push_v2_requests) = edit_pushes(&sync, &cache, n, edits, 1).await?;

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
