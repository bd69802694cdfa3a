//! The run of one index size on swamp's v2 (shard-first) layout alone, in
//! a fresh instance: the bucket gets a shard per model and `_meta.json`
//! version 2 (as `swamp datastore migrate-index` leaves them, with no
//! monolith to fall back on), a new sync service on a cache without
//! history adopts it, then zero-diff calls and pushes after one edit are
//! timed. The instance's linear memory is then what a v2 sync service
//! needs at that size (the v1 run's instance also held the parsed
//! monolith), which is what lets this run go to a million entries: on v1
//! the monolith alone would take over a GiB of guest memory to parse.

use super::BUCKET;
use super::tree::{
    PER_MODEL, adopted, edit_pushes, now, workdirs, write_files, zero_diff_pulls, zero_diff_pushes,
};
use crate::measure::Samples;
use crate::setup::Run;
use anyhow::{Result, anyhow};
use std::time::Duration;
use swamp_datastore_sdk::sync::shards::{self, Meta};

/// Threads writing the cache's files and the shards.
const WRITERS: usize = 8;

/// What one index size measured on the v2 layout.
pub(super) struct V2Only {
    pub entries: usize,
    /// The first pull, adopting the index (every local file hashed).
    pub adopt: Duration,
    /// Linear memory right after that pull.
    pub memory_after_adopt: usize,
    pub zero_push: Samples,
    pub zero_push_requests: u64,
    pub zero_pull: Samples,
    pub zero_pull_requests: u64,
    pub one_push: Samples,
    pub one_push_requests: u64,
    /// Linear memory after every call (its high-water mark).
    pub memory_bytes: usize,
}

/// Write `n` files into `cache` and their shards under `prefix`, a model
/// (one shard) at a time; the partition keys written.
fn write_v2(
    s3: &seaweedfs_fixture::SeaweedFs,
    cache: &std::path::Path,
    prefix: &str,
    n: usize,
) -> Result<Vec<String>> {
    let now = now()?;
    let models = n.div_ceil(PER_MODEL);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let now = &now;
                scope.spawn(move || -> Result<Vec<String>> {
                    let mut pks = Vec::new();
                    for m in (w..models).step_by(WRITERS) {
                        let files =
                            write_files(cache, m * PER_MODEL..((m + 1) * PER_MODEL).min(n), now)?;
                        let pk = shards::shard_of(&files[0].0);
                        let entries: serde_json::Map<String, serde_json::Value> =
                            files.into_iter().collect();
                        let body = serde_json::to_vec(
                            &serde_json::json!({"version": 1, "entries": entries}),
                        )?;
                        s3.put_object(
                            BUCKET,
                            &format!("{prefix}{}", shards::shard_file(&pk)),
                            &body,
                        )
                        .map_err(|e| anyhow!("{e}"))?;
                        pks.push(pk);
                    }
                    Ok(pks)
                })
            })
            .collect();
        let mut pks = Vec::new();
        for w in writers {
            pks.extend(
                w.join()
                    .map_err(|_| anyhow!("a writer thread panicked"))??,
            );
        }
        pks.sort();
        Ok(pks)
    })
}

pub(super) async fn v2_at_size(
    run: &Run,
    plugin: &swamp_host::Plugin,
    s3: &seaweedfs_fixture::SeaweedFs,
    n: usize,
) -> Result<V2Only> {
    let (_dir, cache, repo) = workdirs()?;
    let prefix = format!("scale-v2-{n}/");
    let pks = write_v2(s3, &cache, &prefix, n)?;
    let meta = Meta::v1(pks).next_v2([]);
    s3.put_object(
        BUCKET,
        &format!("{prefix}{}", shards::META_FILE),
        &meta.to_compact(),
    )
    .map_err(|e| anyhow!("{e}"))?;

    let (_provider, sync, adopt) =
        adopted(plugin, s3, &format!("scale-v2-{n}"), &repo, &cache).await?;
    let memory_after_adopt = sync.usage().memory_bytes;

    let iterations = run.pick(30, 5);
    let what = "v2 only";
    let (zero_push, zero_push_requests) = zero_diff_pushes(&sync, iterations, what).await?;
    let (zero_pull, zero_pull_requests) = zero_diff_pulls(&sync, iterations, what).await?;
    let edits = run.pick(10, 3);
    let (one_push, one_push_requests) = edit_pushes(&sync, &cache, n, edits, 0).await?;
    Ok(V2Only {
        entries: n,
        adopt,
        memory_after_adopt,
        zero_push,
        zero_push_requests,
        zero_pull,
        zero_pull_requests,
        one_push,
        one_push_requests,
        memory_bytes: sync.usage().memory_bytes,
    })
}
