//! Lock contention: N host threads, each with a host, a provider and a lock
//! instance of its own (as N processes would have), each doing M critical
//! sections under one lock key.
//!
//! The shared counter lives outside the lock, in a plain host file that a
//! critical section reads, sleeps on, and writes back: two sections that
//! overlap lose an update, so the final count is exact only if the lock
//! excluded every pair. Overlap is also caught as it happens: a section
//! creates a marker file with `create_new` on entry and removes it on exit;
//! a second section finding the marker there counts an overlap.

use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use swamp_host::LockOptions;

use crate::{Remote, quantile};

/// The shape of a contention run.
#[derive(Debug, Clone)]
pub struct ContentionConfig {
    /// Host threads (N).
    pub workers: usize,
    /// Critical sections per thread (M).
    pub sections: usize,
    /// Time spent between reading and writing the counter.
    pub hold: Duration,
    /// The guest's retry interval while the lock is taken.
    pub retry_interval_ms: u64,
    /// How long one acquire may wait before it fails.
    pub max_wait_ms: u64,
    /// Lease length (heartbeats run every ttl/3).
    pub ttl_ms: u64,
    /// Take the lock around each section. `false` is the control run that
    /// shows the detectors see overlaps and lost updates when nothing
    /// excludes the sections.
    pub locked: bool,
}

impl ContentionConfig {
    pub fn new(workers: usize, sections: usize) -> ContentionConfig {
        ContentionConfig {
            workers,
            sections,
            hold: Duration::from_millis(1),
            retry_interval_ms: 5,
            max_wait_ms: 600_000,
            ttl_ms: 10_000,
            locked: true,
        }
    }
}

/// What a contention run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ContentionReport {
    pub backend: String,
    pub workers: usize,
    pub sections_per_worker: usize,
    /// Critical sections completed (N×M when nothing failed).
    pub total_sections: u64,
    /// Sections that found another section inside.
    pub overlaps: u64,
    /// The counter at the end.
    pub final_count: u64,
    /// Locks a heartbeat found lost while held (must be 0).
    pub lost_locks: u64,
    pub wall_ms: f64,
    pub acquire_p50_ms: f64,
    pub acquire_p99_ms: f64,
    pub acquire_max_ms: f64,
    /// Critical sections per second, whole run.
    pub sections_per_s: f64,
}

/// Files shared by the sections.
struct Shared {
    counter: PathBuf,
    marker: PathBuf,
}

/// What one worker measured.
#[derive(Default)]
struct WorkerOutcome {
    sections: u64,
    overlaps: u64,
    lost: u64,
    acquire_ms: Vec<f64>,
}

/// One critical section: mark, read, hold, write, unmark.
async fn critical_section(shared: &Shared, hold: Duration) -> Result<bool> {
    let overlapped = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&shared.marker)
    {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => true,
        Err(e) => return Err(e).context("creating the inside marker"),
    };
    let text = std::fs::read_to_string(&shared.counter).context("reading the counter")?;
    let n: u64 = text
        .trim()
        .parse()
        .with_context(|| format!("the counter holds {text:?}, not a number"))?;
    // Widen the read–write window so an unprotected section loses updates.
    tokio::time::sleep(hold).await;
    // Replaced by rename, so an unprotected reader (the control run) sees
    // a whole number, old or new, and lost updates show in the count.
    let tmp = shared
        .counter
        .with_extension(format!("{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    std::fs::write(&tmp, (n + 1).to_string()).context("writing the counter")?;
    std::fs::rename(&tmp, &shared.counter).context("replacing the counter")?;
    if !overlapped {
        std::fs::remove_file(&shared.marker).context("removing the inside marker")?;
    }
    Ok(overlapped)
}

/// Set up one contender: its own host, provider and lock instance.
async fn contender(
    remote: &Remote,
    compile_cache: &Path,
    cfg: &ContentionConfig,
) -> Result<(swamp_host::Host, swamp_host::Lock)> {
    let host = crate::host(compile_cache)?;
    let provider = crate::open(&host, remote, false).await?;
    let options = LockOptions::with_key("reliability/counter.lock")
        .ttl_ms(cfg.ttl_ms)
        .retry_interval_ms(cfg.retry_interval_ms)
        .max_wait_ms(cfg.max_wait_ms);
    let lock = provider
        .create_lock(&remote.datastore_path()?, options)
        .await
        .map_err(|e| anyhow!("create-lock: {e}"))?;
    Ok((host, lock))
}

/// M critical sections under `lock`.
async fn sections(
    lock: &swamp_host::Lock,
    cfg: &ContentionConfig,
    shared: &Shared,
) -> Result<WorkerOutcome> {
    let mut out = WorkerOutcome::default();
    for i in 0..cfg.sections {
        if !cfg.locked {
            if critical_section(shared, cfg.hold).await? {
                out.overlaps += 1;
            }
            out.sections += 1;
            continue;
        }
        let t = Instant::now();
        lock.acquire()
            .await
            .map_err(|e| anyhow!("acquire {i}: {e}"))?;
        out.acquire_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let body = critical_section(shared, cfg.hold).await;
        if lock.lost().is_some() {
            out.lost += 1;
        }
        lock.release()
            .await
            .map_err(|e| anyhow!("release {i}: {e}"))?;
        if body? {
            out.overlaps += 1;
        }
        out.sections += 1;
    }
    Ok(out)
}

/// Run `cfg` against `remote`.
pub fn run(remote: &Remote, cfg: &ContentionConfig) -> Result<ContentionReport> {
    let dir = remote.scratch().join("contention");
    let compile_cache = remote.scratch().join("compiled");
    std::fs::create_dir_all(&dir)?;
    let shared = Shared {
        counter: dir.join("counter"),
        marker: dir.join("inside"),
    };
    std::fs::write(&shared.counter, "0")?;
    let _ = std::fs::remove_file(&shared.marker);
    // Compile once before the contenders start, so they load the cached form.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let host = crate::host(&compile_cache)?;
            host.load(&remote.wasm()?)
                .await
                .map_err(|e| anyhow!("{e}"))
                .map(drop)
        })?;

    // Every contender reaches the barrier, set up or not, so a failed
    // set-up cannot leave the others waiting; the clock starts when all are
    // ready.
    let start = Barrier::new(cfg.workers + 1);
    let mut wall = Duration::ZERO;
    let outcomes: Vec<Result<WorkerOutcome>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cfg.workers)
            .map(|i| {
                let (shared, start, compile_cache) = (&shared, &start, &compile_cache);
                std::thread::Builder::new()
                    .name(format!("contender-{i}"))
                    .spawn_scoped(scope, move || -> Result<WorkerOutcome> {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build();
                        let set_up = match &rt {
                            Ok(rt) => rt.block_on(contender(remote, compile_cache, cfg)),
                            Err(e) => Err(anyhow!("tokio runtime: {e}")),
                        };
                        start.wait();
                        let (_host, lock) = set_up?;
                        rt?.block_on(sections(&lock, cfg, shared))
                    })
                    .expect("spawning a contender thread")
            })
            .collect();
        start.wait();
        let t = Instant::now();
        let outcomes = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a contender thread panicked")))
            })
            .collect();
        wall = t.elapsed();
        outcomes
    });
    let mut total = WorkerOutcome::default();
    for (i, o) in outcomes.into_iter().enumerate() {
        let o = o.with_context(|| format!("contender {i}"))?;
        total.sections += o.sections;
        total.overlaps += o.overlaps;
        total.lost += o.lost;
        total.acquire_ms.extend(o.acquire_ms);
    }
    let text = std::fs::read_to_string(&shared.counter)?;
    let final_count: u64 = text
        .trim()
        .parse()
        .with_context(|| format!("final counter {text:?}"))?;
    let mut lat = total.acquire_ms;
    lat.sort_by(f64::total_cmp);
    let wall_s = wall.as_secs_f64();
    Ok(ContentionReport {
        backend: remote.backend().name().into(),
        workers: cfg.workers,
        sections_per_worker: cfg.sections,
        total_sections: total.sections,
        overlaps: total.overlaps,
        final_count,
        lost_locks: total.lost,
        wall_ms: wall_s * 1000.0,
        acquire_p50_ms: quantile(&lat, 0.50),
        acquire_p99_ms: quantile(&lat, 0.99),
        acquire_max_ms: lat.last().copied().unwrap_or(0.0),
        sections_per_s: if wall_s > 0.0 {
            total.sections as f64 / wall_s
        } else {
            0.0
        },
    })
}
