//! The s3-datastore component through the real host: a push of the cache
//! as swamp does it (mark the tree dirty, then push-changed), and a pull
//! into a fresh cache.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use seaweedfs_fixture::SeaweedFs;
use serde_json::json;
use swamp_host::{Host, HostOptions, OpenOptions, Provider, SyncOptions, SyncService};

/// An opened s3-datastore on one bucket and prefix.
pub struct Datastore {
    // Keeps the engine (and its epoch ticker) alive with the provider.
    _host: Host,
    provider: Provider,
}

/// Generous per-call budget: a slow run must be measured, not aborted.
const CALL_TIMEOUT_MS: u64 = 900_000;

fn options() -> SyncOptions {
    SyncOptions {
        timeout_ms: Some(CALL_TIMEOUT_MS),
        ..SyncOptions::default()
    }
}

impl Datastore {
    /// Load the component and open it on `bucket`/`prefix` of `s3`,
    /// reached at `endpoint` (the server's, or a proxy's), with
    /// `concurrency` uploads and downloads in flight.
    pub async fn open(
        s3: &SeaweedFs,
        endpoint: &str,
        bucket: &str,
        prefix: &str,
        concurrency: usize,
    ) -> Result<Self> {
        let host = Host::new(HostOptions {
            env_source: Arc::new(|_| None),
            ..HostOptions::default()
        })?;
        let wasm = host_harness::bundled::guest("s3-datastore").map_err(anyhow::Error::msg)?;
        let plugin = host.load(&wasm).await?;
        let mut config = s3.datastore_config(bucket, prefix);
        config["endpoint"] = json!(endpoint);
        config["pushConcurrency"] = json!(concurrency);
        config["pullConcurrency"] = json!(concurrency);
        // A diagnostic knob: `0` hands the guest's file calls to tokio's
        // blocking pool instead of the guest's thread (the default, see
        // Limits::file_io_on_caller_thread).
        let inline = std::env::var("SWAMP_BENCH_D_INLINE_FILE_IO").map_or(true, |v| v != "0");
        let options = OpenOptions {
            limits: Some(swamp_host::Limits {
                file_io_on_caller_thread: inline,
                ..swamp_host::Limits::default()
            }),
            ..OpenOptions::default()
        };
        let provider = plugin.open(config, options).await?;
        Ok(Datastore {
            _host: host,
            provider,
        })
    }

    /// A sync service on `cache` (created), with its repo directory beside it.
    async fn service(&self, cache: &Path) -> Result<SyncService> {
        let repo = cache.with_extension("repo");
        std::fs::create_dir_all(cache)?;
        std::fs::create_dir_all(&repo)?;
        let s = |p: &Path| p.to_str().map(str::to_string).context("non-UTF-8 path");
        self.provider
            .create_sync_service(&s(&repo)?, &s(cache)?)
            .await?
            .context("s3-datastore offers no sync service")
    }

    /// Mark the whole cache dirty (untimed: swamp records dirt as files
    /// are written); time preview-push (the planning alone: walk, hash,
    /// read the remote index), then push-changed (which plans again, then
    /// uploads and commits the index). Fails unless both count `expected`
    /// files. Returns the push's time and, when `preview`, the planning's.
    pub async fn push(
        &self,
        cache: &Path,
        expected: usize,
        preview: bool,
    ) -> Result<(Duration, Option<Duration>)> {
        let svc = self.service(cache).await?;
        svc.mark_dirty(&options()).await?;
        let mut planning = None;
        if preview {
            let t = Instant::now();
            let planned = svc.preview_push(&options()).await?;
            planning = Some(t.elapsed());
            if planned.new as usize != expected {
                bail!(
                    "s3-datastore planned {} new files, expected {expected}",
                    planned.new
                );
            }
        }
        let t = Instant::now();
        let pushed = svc.push_changed(&options()).await?;
        let took = t.elapsed();
        if pushed as usize != expected {
            bail!("s3-datastore pushed {pushed} files, expected {expected}");
        }
        Ok((took, planning))
    }

    /// Time pull-changed into the fresh cache `cache`. Fails unless it
    /// pulled `expected` files.
    pub async fn pull(&self, cache: &Path, expected: usize) -> Result<Duration> {
        let svc = self.service(cache).await?;
        let t = Instant::now();
        let pulled = svc.pull_changed(&options()).await?;
        let took = t.elapsed();
        if pulled as usize != expected {
            bail!("s3-datastore pulled {pulled} files, expected {expected}");
        }
        Ok(took)
    }
}
