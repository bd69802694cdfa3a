//! One guest instance: a store with its sandboxed WASI context, and the one
//! place where calls into the guest are made, bounded in time and memory.
//!
//! Every call goes through [`Instance::call`], which sets an epoch deadline
//! (stops a guest spinning on the CPU) and a wall-clock timeout (stops a
//! guest waiting inside a host call, which epochs cannot interrupt). A trap
//! or a timeout poisons the store, so the instance remembers it and refuses
//! further calls with a clear error instead of wasmtime's generic one.

use crate::abort::CallAbort;
use crate::bindings::{Exports, ExportsPre};
use crate::error::{DatastoreError, HostError, HostResult};
use crate::flush::MountDirs;
use crate::guest_stderr::GuestStderr;
use crate::guest_thread::GuestThread;
use crate::host::EPOCH_TICK;
use crate::http_client::GuestHttpClient;
use crate::sandbox::{HttpPolicy, SandboxPolicy};
use crate::types::HolderIdentity;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use wasmtime::component::{ResourceAny, ResourceTable};
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The data of one store.
pub(crate) struct GuestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_policy: HttpPolicy,
    table: ResourceTable,
    limits: MeteredLimits,
    pub(crate) identity: HolderIdentity,
    /// The guest's stderr (its tail explains a trap).
    stderr: GuestStderr,
    /// The mounts' capability handles, for `flush-files`.
    mount_dirs: Arc<MountDirs>,
}

/// What one instance has used so far, counted by the host (the guest
/// cannot misreport it). Benchmarks read it; operators may too.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    /// Bytes of linear memory the instance has (all its memories). Wasm
    /// memories only grow, so this is also the peak.
    pub(crate) memory_bytes: AtomicUsize,
    /// HTTP requests the sandbox let through.
    pub(crate) http_requests: AtomicU64,
    /// Files the host flushed to disk for the guest (`flush-files`).
    pub(crate) files_flushed: AtomicU64,
}

/// A snapshot of an instance's meters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstanceUsage {
    /// Linear memory the guest has reached (its high-water mark), in bytes.
    pub memory_bytes: usize,
    /// HTTP requests the guest sent (and the sandbox allowed).
    pub http_requests: u64,
    /// Files the host flushed to disk at the guest's request, all at once
    /// (`host-info.flush-files` in wit/host-info.wit).
    pub files_flushed: u64,
}

impl Meters {
    pub(crate) fn snapshot(&self) -> InstanceUsage {
        InstanceUsage {
            memory_bytes: self.memory_bytes.load(Ordering::Relaxed),
            http_requests: self.http_requests.load(Ordering::Relaxed),
            files_flushed: self.files_flushed.load(Ordering::Relaxed),
        }
    }
}

/// The store's limits, recording every memory growth they allow.
struct MeteredLimits {
    limits: StoreLimits,
    meters: Arc<Meters>,
}

impl ResourceLimiter for MeteredLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            // Also called when a memory is created (current = 0), so the sum
            // of the growths is the size of all memories.
            self.meters
                .memory_bytes
                .fetch_add(desired.saturating_sub(current), Ordering::Relaxed);
        }
        Ok(allowed)
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }
    fn instances(&self) -> usize {
        self.limits.instances()
    }
    fn tables(&self) -> usize {
        self.limits.tables()
    }
    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}

impl GuestState {
    pub(crate) fn new(
        policy: &SandboxPolicy,
        identity: HolderIdentity,
        denied: &Arc<std::sync::Mutex<Vec<String>>>,
        meters: &Arc<Meters>,
        abort: &CallAbort,
        client: &GuestHttpClient,
    ) -> HostResult<Self> {
        let mut wasi = WasiCtx::builder();
        // Guest diagnostics go to the host's stderr (their tail is kept to
        // explain a trap); nothing else is shared.
        let stderr = GuestStderr::default();
        wasi.stderr(stderr.clone());
        // Before the mounts: wasmtime-wasi copies this setting into each
        // preopened directory when it is added, so set after them it would
        // reach only files opened later, and every directory operation
        // (open, stat, mkdir, rename, unlink) would still hop to tokio's
        // blocking pool and back.
        wasi.allow_blocking_current_thread(policy.limits.file_io_on_caller_thread);
        let perms = if policy.limits.read_only_mounts {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        for dir in policy.mounted() {
            let guest_path = dir.to_str().ok_or_else(|| {
                HostError::Sandbox(format!("mount {} is not valid UTF-8", dir.display()))
            })?;
            wasi.preopened_dir(dir, guest_path, perms)
                .map_err(|e| HostError::Sandbox(format!("cannot mount {}: {e}", dir.display())))?;
        }
        wasi.envs(&policy.env);
        wasi.monotonic_clock(abort.clock());
        if policy.limits.wall_clock_skew_ms != 0 {
            wasi.wall_clock(SkewedClock(policy.limits.wall_clock_skew_ms));
        }
        let limits = StoreLimitsBuilder::new()
            .memory_size(policy.limits.memory_bytes)
            .table_elements(1_000_000)
            .instances(64)
            .trap_on_grow_failure(true)
            .build();
        let limits = MeteredLimits {
            limits,
            meters: meters.clone(),
        };
        Ok(Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            http_policy: HttpPolicy {
                allowed: policy.allowed_authorities.clone(),
                timeout: policy.limits.http_timeout,
                denied: denied.clone(),
                sent: meters.clone(),
                client: client.clone(),
            },
            table: ResourceTable::new(),
            limits,
            identity,
            stderr,
            mount_dirs: Arc::new(MountDirs::open(policy.mounted())),
        })
    }
}

/// Suspends the guest (yielding to other tasks) before each host call: see
/// [`crate::Limits::pause_at_host_calls`].
struct PauseAtHostCalls(Duration);

#[async_trait::async_trait]
impl wasmtime::CallHookHandler<GuestState> for PauseAtHostCalls {
    async fn handle_call_event(
        &self,
        _: wasmtime::StoreContextMut<'_, GuestState>,
        hook: wasmtime::CallHook,
    ) -> wasmtime::Result<()> {
        if matches!(hook, wasmtime::CallHook::CallingHost) {
            tokio::time::sleep(self.0).await;
        }
        Ok(())
    }
}

/// The host's wall clock shifted by a fixed offset (tests only set one).
struct SkewedClock(i64);

impl wasmtime_wasi::HostWallClock for SkewedClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let skew = Duration::from_millis(self.0.unsigned_abs());
        if self.0 >= 0 {
            now + skew
        } else {
            now.saturating_sub(skew)
        }
    }
}

impl crate::bindings::swamp::datastore::types::Host for GuestState {}

impl crate::bindings::swamp::datastore::host_info::Host for GuestState {
    fn identity(&mut self) -> wasmtime::Result<crate::bindings::wit::HolderIdentity> {
        Ok(crate::bindings::wit::HolderIdentity {
            user: self.identity.user.clone(),
            hostname: self.identity.hostname.clone(),
            pid: self.identity.pid,
        })
    }
    async fn flush_files(
        &mut self,
        paths: Vec<String>,
    ) -> wasmtime::Result<Vec<Result<(), String>>> {
        let results = self.mount_dirs.clone().flush(paths).await;
        let flushed = results.iter().filter(|r| r.is_ok()).count() as u64;
        self.limits
            .meters
            .files_flushed
            .fetch_add(flushed, Ordering::Relaxed);
        Ok(results)
    }
}

struct Live {
    store: Store<GuestState>,
    bindings: Arc<Exports>,
}

/// A live guest instance shared by the handles made in it.
pub(crate) struct Instance {
    /// The store, held by the one call running in it. Shared with that
    /// call on the guest's thread (see [`Instance::call`]).
    live: Arc<Mutex<Live>>,
    /// The thread the calls run on.
    thread: GuestThread,
    /// Why the instance was stopped, once it was. Outside `live`: a call
    /// stopped at its deadline may still hold the store (its thread stuck
    /// in a file operation), and later calls must not wait for it.
    stopped: Arc<std::sync::Mutex<Option<String>>>,
    pub(crate) policy: SandboxPolicy,
    /// HTTP requests the sandbox refused, in order.
    pub(crate) denied_requests: Arc<std::sync::Mutex<Vec<String>>>,
    pub(crate) meters: Arc<Meters>,
    /// Moves this instance's monotonic clock past every deadline.
    pub(crate) abort: CallAbort,
    /// Guest resources whose last host handle is gone, dropped in the guest
    /// at the start of the next call (a handle's `Drop` cannot wait for the
    /// store; see [`Instance::drop_later`]).
    doomed: std::sync::Mutex<Vec<ResourceAny>>,
}

/// The body of a call: given the store and the bindings, the guest call.
pub(crate) type GuestCall<'a, T> =
    BoxFuture<'a, wasmtime::Result<Result<T, crate::bindings::wit::Error>>>;

impl Instance {
    pub(crate) async fn new(
        host: &crate::Host,
        pre: &ExportsPre<GuestState>,
        policy: SandboxPolicy,
        identity: HolderIdentity,
    ) -> HostResult<Arc<Self>> {
        let thread = GuestThread::start().map_err(|reason| HostError::Load {
            component: "(guest thread)".into(),
            reason,
        })?;
        let denied_requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let meters = Arc::new(Meters::default());
        let abort = CallAbort::default();
        let state = GuestState::new(
            &policy,
            identity,
            &denied_requests,
            &meters,
            &abort,
            host.http_client(),
        )?;
        let mut store = Store::new(host.engine(), state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks(policy.limits.call_timeout));
        if !policy.limits.pause_at_host_calls.is_zero() {
            store.call_hook_async(PauseAtHostCalls(policy.limits.pause_at_host_calls));
        }
        let bindings = tokio::time::timeout(
            policy.limits.call_timeout,
            pre.instantiate_async(&mut store),
        )
        .await
        .map_err(|_| HostError::Deadline {
            call: "instantiate".into(),
            after: policy.limits.call_timeout,
        })?
        .map_err(|e| HostError::Trap {
            call: "instantiate".into(),
            reason: format!("{e:#}"),
        })?;
        Ok(Arc::new(Self {
            live: Arc::new(Mutex::new(Live {
                store,
                bindings: Arc::new(bindings),
            })),
            thread,
            stopped: Arc::default(),
            policy,
            denied_requests,
            meters,
            abort,
            doomed: std::sync::Mutex::default(),
        }))
    }

    /// Drop `resource` in the guest before the next call into this
    /// instance runs, so a guest object lives no longer than the host's
    /// handle on it (an instance that is never called again is dropped
    /// whole, with its store).
    pub(crate) fn drop_later(&self, resource: ResourceAny) {
        self.doomed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(resource);
    }

    /// Call into the guest with a time budget. `budget` is the call's own
    /// allowance (none: the policy's default call timeout); the host adds
    /// its grace period on top before stopping the guest.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        name: &str,
        budget: Option<Duration>,
        f: impl for<'a> FnOnce(&'a mut Store<GuestState>, &'a Exports) -> GuestCall<'a, T>
        + Send
        + 'static,
    ) -> HostResult<T> {
        self.call_raw(name, budget, f)
            .await?
            .map_err(|e| HostError::Datastore(DatastoreError::from(e)))
    }

    /// As [`call`](Self::call), for guest functions that cannot fail.
    pub(crate) async fn call_infallible<R: Send + 'static>(
        &self,
        name: &str,
        f: impl for<'a> FnOnce(
            &'a mut Store<GuestState>,
            &'a Exports,
        ) -> BoxFuture<'a, wasmtime::Result<R>>
        + Send
        + 'static,
    ) -> HostResult<R> {
        self.call_raw(name, None, f).await
    }

    /// The guest runs on the instance's own thread (`guest_thread.rs`), and
    /// this call waits for it with the wall-clock deadline: so the deadline
    /// holds even when that thread is stuck inside a file operation (with
    /// [`crate::Limits::file_io_on_caller_thread`], file calls run on it).
    /// A call stopped that way is left to end when the kernel lets go; the
    /// instance is stopped and never used again.
    async fn call_raw<R: Send + 'static>(
        &self,
        name: &str,
        budget: Option<Duration>,
        f: impl for<'a> FnOnce(
            &'a mut Store<GuestState>,
            &'a Exports,
        ) -> BoxFuture<'a, wasmtime::Result<R>>
        + Send
        + 'static,
    ) -> HostResult<R> {
        let stopped = || {
            self.stopped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .map(HostError::InstanceStopped)
        };
        if let Some(e) = stopped() {
            return Err(e);
        }
        let mut live = self.live.clone().lock_owned().await;
        if let Some(e) = stopped() {
            return Err(e);
        }
        // The CPU deadline falls half-way through the grace period, the
        // wall-clock one at its end: a guest spinning on the CPU is stopped by
        // an epoch trap, one waiting inside a host call (which epochs cannot
        // interrupt) by the timeout.
        let budget = budget.unwrap_or(self.policy.limits.call_timeout);
        let limit = budget + self.policy.limits.grace;
        live.store
            .set_epoch_deadline(ticks(budget + self.policy.limits.grace / 2));
        let bindings = live.bindings.clone();
        let doomed = std::mem::take(&mut *self.doomed.lock().unwrap_or_else(|p| p.into_inner()));
        let (answer, cancel) = self.thread.run(async move {
            // The guest's destructors run under this call's deadlines; one
            // that traps stops the instance like any call, and the report
            // says it was a destructor, not the call that was asked for.
            for resource in doomed {
                if let Err(trap) = resource.resource_drop_async(&mut live.store).await {
                    let reason = describe_trap(&trap, &live.store.data().stderr);
                    return Err(format!(
                        "dropping a guest object the host no longer holds (a verifier, lock, sync service or provider): {reason}"
                    ));
                }
            }
            f(&mut live.store, &bindings)
                .await
                .map_err(|trap| describe_trap(&trap, &live.store.data().stderr))
        });
        let stop = |why: String| {
            *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        };
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(reason))) => {
                stop(format!("{name} trapped: {reason}"));
                Err(HostError::Trap {
                    call: name.to_string(),
                    reason,
                })
            }
            // The host code under the guest panicked (never the guest: its
            // panics are traps).
            Ok(Err(panic)) => {
                let reason = format!("the host failed while running the call: {panic}");
                stop(format!("{name}: {reason}"));
                Err(HostError::Trap {
                    call: name.to_string(),
                    reason,
                })
            }
            Err(_) => {
                // Dropped at its next await (at once, unless its thread is
                // stuck in the kernel).
                cancel.abort();
                stop(format!("{name} exceeded its deadline"));
                Err(HostError::Deadline {
                    call: name.to_string(),
                    after: limit,
                })
            }
        }
    }
}

fn ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64 + 1
}

/// Name the trap in words an author can act on: a panic by its location
/// and message (read from the guest's stderr), an epoch interruption as the
/// CPU deadline, a failed memory grow as the memory limit; otherwise the
/// trap and the innermost guest function, never the whole wasm backtrace.
fn describe_trap(e: &wasmtime::Error, stderr: &GuestStderr) -> String {
    let frame = e
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .and_then(|bt| {
            bt.frames()
                .first()
                .and_then(|f| f.func_name().map(str::to_string))
        })
        .map(|f| format!(" in {f}"))
        .unwrap_or_default();
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => "CPU deadline exceeded (epoch interruption)".into(),
            wasmtime::Trap::UnreachableCodeReached => match stderr.last_panic() {
                Some(p) => format!("guest panicked at {p}"),
                None => format!(
                    "guest aborted (wasm `unreachable` executed{frame}; it printed no panic message)"
                ),
            },
            other => format!("{other}{frame}"),
        };
    }
    let text = format!("{e:#}");
    if text.contains("memory") && (text.contains("limit") || text.contains("grow")) {
        format!("memory limit exceeded: {text}")
    } else {
        text
    }
}
