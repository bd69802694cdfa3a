//! One side's times for one tree, and the swamp-host side, which runs in
//! this process: the same calls as `deno/extension_rounds.ts` makes through
//! the packaged extension, made on swamp-host directly.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_sync_compare::tree;
use serde::Deserialize;
use serde_json::json;
use swamp_host::{Host, HostOptions, OpenOptions, SyncOptions, SyncService};

/// Same-size edits timed, each a push and a pull (keep equal to EDITS in
/// bench/sync-compare/deno/extension_rounds.ts).
const EDITS: usize = 5;

/// Milliseconds of each call (absent: the side does not make it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Times {
    pub push: f64,
    pub pull: f64,
    pub zero_push: Option<f64>,
    pub zero_pull: Option<f64>,
    pub edit_push: Option<f64>,
    pub edit_pull: Option<f64>,
    /// One verify (median of 200): what a single call costs on the side.
    pub verify: Option<f64>,
}

/// Where one side pushes to and pulls from.
pub struct Target<'a> {
    pub endpoint: &'a str,
    pub bucket: &'a str,
    pub region: &'a str,
    pub prefix: String,
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub concurrency: usize,
}

fn options() -> SyncOptions {
    SyncOptions {
        timeout_ms: Some(900_000),
        ..SyncOptions::default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn expect(what: &str, got: u32, want: usize) -> Result<()> {
    if got as usize != want {
        bail!("swamp-host {what}: {got} files, expected {want}");
    }
    Ok(())
}

async fn service(provider: &swamp_host::Provider, cache: &Path) -> Result<SyncService> {
    let repo = cache.with_extension("repo");
    std::fs::create_dir_all(cache)?;
    std::fs::create_dir_all(&repo)?;
    let s = |p: &Path| p.to_str().map(str::to_string).context("non-UTF-8 path");
    provider
        .create_sync_service(&s(&repo)?, &s(cache)?)
        .await?
        .context("s3-datastore offers no sync service")
}

/// The scenario through swamp-host in this process. `cache_a` holds a copy
/// of `source`; `cache_b` is empty.
pub async fn swamp_host(
    wasm: &Path,
    t: &Target<'_>,
    source: &Path,
    cache_a: &Path,
    cache_b: &Path,
    rels: &[String],
) -> Result<Times> {
    let host = Host::new(HostOptions {
        env_source: Arc::new(|_| None),
        ..HostOptions::default()
    })?;
    let plugin = host.load(wasm).await?;
    let config = json!({
        "bucket": t.bucket, "prefix": t.prefix, "endpoint": t.endpoint,
        "forcePathStyle": true, "region": t.region,
        "accessKeyId": t.access_key, "secretAccessKey": t.secret_key,
        "pushConcurrency": t.concurrency, "pullConcurrency": t.concurrency,
    });
    let provider = plugin.open(config, OpenOptions::default()).await?;
    let (a, b) = (
        service(&provider, cache_a).await?,
        service(&provider, cache_b).await?,
    );
    let files = rels.len();
    let mut out = Times::default();

    a.mark_dirty(&options()).await?;
    let start = Instant::now();
    expect("push", a.push_changed(&options()).await?, files)?;
    out.push = ms(start.elapsed());
    let mut zero = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        expect("zero-diff push", a.push_changed(&options()).await?, 0)?;
        zero.push(ms(start.elapsed()));
    }
    out.zero_push = Some(median(zero));

    let start = Instant::now();
    expect("pull", b.pull_changed(&options()).await?, files)?;
    out.pull = ms(start.elapsed());
    let mut zero = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        expect("zero-diff pull", b.pull_changed(&options()).await?, 0)?;
        zero.push(ms(start.elapsed()));
    }
    out.zero_pull = Some(median(zero));
    tree::verify("swamp-host", source, cache_b, rels)?;

    // Same-size edits of files spread over the tree, as the Deno side
    // makes them (bench/sync-compare/deno/extension_rounds.ts); medians.
    let (mut pushes, mut pulls) = (Vec::new(), Vec::new());
    for e in 0..EDITS {
        let edited = &rels[(2 * e + 1) * rels.len() / (2 * EDITS)];
        let start = Instant::now();
        a.mark_dirty(&SyncOptions {
            rel_path: Some(edited.clone()),
            ..options()
        })
        .await?;
        let mark = start.elapsed();
        let mut bytes = std::fs::read(cache_a.join(edited))?;
        bytes.iter_mut().for_each(|b| *b ^= 0x5a);
        std::fs::write(cache_a.join(edited), &bytes)?;
        let start = Instant::now();
        expect("push of the edit", a.push_changed(&options()).await?, 1)?;
        pushes.push(ms(mark + start.elapsed()));
        let start = Instant::now();
        expect("pull of the edit", b.pull_changed(&options()).await?, 1)?;
        pulls.push(ms(start.elapsed()));
        if std::fs::read(cache_b.join(edited))? != bytes {
            bail!("swamp-host: the pulled edit differs");
        }
    }
    out.edit_push = Some(median(pushes));
    out.edit_pull = Some(median(pulls));
    let verifier = provider.create_verifier().await?;
    let mut verifies = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let h = verifier.verify().await?;
        if !h.healthy {
            bail!("swamp-host verify: {}", h.message);
        }
        verifies.push(ms(start.elapsed()));
    }
    out.verify = Some(median(verifies));
    Ok(out)
}
