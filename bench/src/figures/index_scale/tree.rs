//! What both kinds of index-size run share: the files of the cache, laid
//! out as swamp lays out models' data, their index entries, and the timing
//! of a series of guest calls with the requests each made.

use crate::measure::Samples;
use anyhow::Result;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;
use swamp_host::{SyncOptions, SyncService};

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
