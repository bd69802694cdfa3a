//! Reliability scenarios for the datastore components, on both backends
//! (what `RELIABILITY.md` §1–3 report):
//!
//! * [`contention`]: N host threads, each with its own host and lock
//!   instance, run M critical sections on a shared counter that only the
//!   lock protects; no overlap and the exact final count.
//! * [`fencing`]: a holder frozen past its TTL is taken over; when it
//!   resumes, its heartbeat fails with `lock-lost` and its release leaves
//!   the successor's lock and work alone.
//! * [`crash`]: a child process doing push, pull or hydrate is killed with
//!   SIGKILL at random points; afterwards no torn file in the cache, no index
//!   entry without its complete object, and the next sync converges.
//!
//! The tests run them small; `make stress` (`src/bin/stress.rs`) runs them
//! large and prints the figures.

pub mod backend;
pub mod content;
pub mod contention;
pub mod crash;
pub mod fencing;

use std::path::Path;

use anyhow::{Result, anyhow};
use swamp_host::{Host, HostOptions, OpenOptions, Provider};

pub use backend::{Backend, Remote};

/// A host that caches compiled components in `compile_cache` (so the
/// many hosts of a scenario compile once) and passes no environment
/// variable through (credentials are in the config).
pub fn host(compile_cache: &Path) -> Result<Host> {
    Host::new(HostOptions {
        cache_dir: Some(compile_cache.to_path_buf()),
        env_source: std::sync::Arc::new(|_| None),
        ..HostOptions::default()
    })
    .map_err(|e| anyhow!("{e}"))
}

/// Load `remote`'s component into `host` and open a provider on it.
pub async fn open(host: &Host, remote: &Remote, cache: bool) -> Result<Provider> {
    let plugin = host
        .load(&remote.wasm()?)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    plugin
        .open(remote.config(cache), OpenOptions::default())
        .await
        .map_err(|e| anyhow!("opening {}: {e}", remote.backend().name()))
}

/// The `q`-quantile (0..=1) of sorted `values`, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
