//! The process-wide part of the embedding: one engine configured once, one
//! linker built once, an epoch ticker, and the compiled-component cache.

use crate::bindings::ExportsPre;
use crate::error::{HostError, HostResult};
use crate::http_client::GuestHttpClient;
use crate::instance::GuestState;
use crate::plugin::Plugin;
use crate::sandbox::Limits;
use crate::types::HolderIdentity;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

/// How often the epoch advances; the granularity of CPU deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Reads one environment variable for a guest (the host's own environment
/// by default).
pub type EnvSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Settings of a [`Host`].
#[derive(Clone)]
pub struct HostOptions {
    /// Where compiled components are cached between runs (none: no disk
    /// cache, compile on every load).
    pub cache_dir: Option<PathBuf>,
    /// Default limits of every instance.
    pub limits: Limits,
    /// The identity written into lock files.
    pub identity: HolderIdentity,
    /// Where passed-through environment variables are read from. The
    /// default reads the host process's environment; tests substitute it.
    pub env_source: EnvSource,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            limits: Limits::default(),
            identity: HolderIdentity::of_this_process(),
            env_source: Arc::new(|k| std::env::var(k).ok()),
        }
    }
}

impl std::fmt::Debug for HostOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostOptions")
            .field("cache_dir", &self.cache_dir)
            .field("limits", &self.limits)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// `$XDG_CACHE_HOME/swamp-host` or `~/.cache/swamp-host`.
fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("swamp-host"))
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    linker: Linker<GuestState>,
    pub(crate) options: HostOptions,
    http: GuestHttpClient,
}

/// The embedding: cheap to clone, share one per process.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

impl Host {
    /// Configure the wasmtime engine, link the imports of the world
    /// `datastore-provider` and start the epoch ticker thread; fails with
    /// [`HostError::Load`] when any of these cannot be set up.
    pub fn new(options: HostOptions) -> HostResult<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        // For profiling with `perf`: guest functions get their names in
        // /tmp/perf-<pid>.map (an operator's switch, off by default).
        if std::env::var_os("SWAMP_HOST_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| HostError::Load {
            component: "(engine)".into(),
            reason: format!("{e:#}"),
        })?;
        let mut linker = Linker::new(&engine);
        let link = |r: wasmtime::Result<()>| {
            r.map_err(|e| HostError::Load {
                component: "(linker)".into(),
                reason: format!("{e:#}"),
            })
        };
        link(crate::linker::add_world_imports(&mut linker))?;

        // The ticker holds only a weak reference to the engine, and ends
        // when the engine goes: with the host and also with every store
        // (each holds the engine). Not before: a call stopped at its
        // wall-clock deadline may leave its guest spinning on a worker
        // thread until its epoch deadline traps it, and without ticks that
        // never comes (the thread would spin for good and a runtime shutting
        // down would wait for it).
        // It counts ticks from the time elapsed, not from its sleeps: on a
        // loaded machine each sleep overruns, and summed over a deadline's
        // few hundred ticks the overrun put the CPU deadline after the
        // wall-clock one (an endless loop then ended as a `Deadline`
        // instead of an epoch trap).
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("swamp-host-epoch".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let mut ticked: u128 = 0;
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    let Some(engine) = weak.upgrade() else { break };
                    let due = started.elapsed().as_nanos() / EPOCH_TICK.as_nanos();
                    while ticked < due {
                        engine.increment_epoch();
                        ticked += 1;
                    }
                }
            })
            .map_err(|e| HostError::Load {
                component: "(epoch ticker)".into(),
                reason: e.to_string(),
            })?;
        let http = GuestHttpClient::new(
            options.limits.http_timeout,
            options.limits.http_requests_per_authority,
        );
        Ok(Self {
            inner: Arc::new(HostInner {
                engine,
                linker,
                options,
                http,
            }),
        })
    }

    /// The settings this host was made with; their limits are the defaults
    /// of every instance opened through it.
    pub fn options(&self) -> &HostOptions {
        &self.inner.options
    }

    /// Load a component: compile it (or reuse the cached compiled form),
    /// link it, read its identity and schema.
    pub async fn load(&self, path: &Path) -> HostResult<Plugin> {
        // Compiling takes seconds of CPU (on every core): off the async
        // workers, or the tasks queued behind it on this worker (another
        // lock's heartbeats, another call's deadline) wait that long.
        let component = {
            let (host, owned) = (self.clone(), path.to_path_buf());
            tokio::task::spawn_blocking(move || host.compile(&owned))
                .await
                .map_err(|e| HostError::Load {
                    component: path.display().to_string(),
                    reason: format!("the compiling thread failed: {e}"),
                })??
        };
        let load_err = |e: wasmtime::Error| HostError::Load {
            component: path.display().to_string(),
            reason: format!("{e:#}"),
        };
        // wasmtime names the first import it cannot satisfy; say where the
        // list of what may be imported is.
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| HostError::Load {
                component: path.display().to_string(),
                reason: format!(
                    "{e:#} (a datastore may import only what the world datastore-provider of wit/world.wit lists)"
                ),
            })?;
        let pre = ExportsPre::new(instance_pre).map_err(load_err)?;
        Plugin::new(self.clone(), path, pre).await
    }

    /// Compile `path`, going through the on-disk cache keyed by the
    /// component's hash and the engine's compatibility hash.
    fn compile(&self, path: &Path) -> HostResult<Component> {
        let err = |reason: String| HostError::Load {
            component: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let engine = &self.inner.engine;
        let cached = self.inner.options.cache_dir.as_ref().map(|dir| {
            let mut h = Sha256::new();
            h.update(&bytes);
            std::hash::Hash::hash(
                &engine.precompile_compatibility_hash(),
                &mut HashWriter(&mut h),
            );
            dir.join(format!("{}.cwasm", hex::encode(h.finalize())))
        });
        if let Some(file) = &cached {
            // Read into memory rather than mmap the file: a cache file
            // truncated under a mapping (by another tool, or a full disk)
            // would kill the whole process with SIGBUS.
            if let Ok(compiled) = std::fs::read(file) {
                // SAFETY: the file was written by `Component::serialize` of an
                // engine with the same compatibility hash (it is in the name),
                // in a cache directory private to this user; wasmtime checks
                // its header and rejects anything else.
                match unsafe { Component::deserialize(engine, &compiled) } {
                    Ok(c) => return Ok(c),
                    Err(e) => {
                        tracing::warn!(file = %file.display(), "ignoring unusable compiled cache: {e:#}")
                    }
                }
            }
        }
        let component = Component::new(engine, &bytes)
            .map_err(|e| err(format!("not a valid component: {e:#}")))?;
        if let Some(file) = &cached
            && let Err(e) = write_cache(&component, file)
        {
            tracing::warn!(file = %file.display(), "cannot cache compiled component: {e:#}");
        }
        Ok(component)
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn http_client(&self) -> &GuestHttpClient {
        &self.inner.http
    }

    /// TCP connections the guests' HTTP requests have opened so far, over
    /// every instance of this host (connections are kept alive and shared
    /// per authority).
    pub fn http_connections_opened(&self) -> u64 {
        self.inner.http.connections_opened()
    }
}

fn write_cache(component: &Component, file: &Path) -> anyhow::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    // Write then rename, so a concurrent loader never reads a torn file.
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), bytes)?;
    tmp.persist(file)?;
    Ok(())
}

/// Feeds `Hash` output into a SHA-256 digest.
struct HashWriter<'a>(&'a mut Sha256);

impl std::hash::Hasher for HashWriter<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
