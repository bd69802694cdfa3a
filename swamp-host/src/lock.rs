//! The lock handle: acquire/release/inspect/force-release through the guest,
//! plus what cannot cross the component boundary and so lives here: the
//! heartbeat scheduler (a guest has no thread of its own, so the host
//! extends each held lock every ttl/3) and `with_lock` (a closure cannot
//! cross the boundary); see docs/contract.md §2.8.

use crate::error::{DatastoreError, HostError, HostResult};
use crate::guest_resource::GuestResource;
use crate::instance::Instance;
use crate::types::{LockInfo, LockOptions};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use wasmtime::component::ResourceAny;

/// A distributed lock in an instance of its own.
#[derive(Clone)]
pub struct Lock {
    inner: Arc<LockInner>,
}

struct LockInner {
    /// The guest lock, dropped in the guest with the last handle (see
    /// `swamp-host/src/guest_resource.rs`).
    guest: GuestResource,
    options: LockOptions,
    key: String,
    ttl: Duration,
    state: Mutex<HeartbeatState>,
}

#[derive(Default)]
struct HeartbeatState {
    /// When the current hold's next heartbeat is due; `None` while the
    /// lock is not held (release clears it).
    due: Option<Instant>,
    /// Counts acquisitions, so a heartbeat of an earlier hold that comes
    /// back late cannot end the current one's heartbeats.
    hold: u64,
    /// Whether this lock's heartbeat task is running.
    beating: bool,
    /// Why the lock was lost while held, once a heartbeat found out.
    lost: Option<String>,
    /// Heartbeats are skipped while paused (tests freeze a holder this way).
    paused: bool,
    heartbeats: u64,
}

/// Why `with_lock` failed.
#[derive(Debug, thiserror::Error)]
pub enum WithLockError<E> {
    /// The lock could not be taken (for example a lock timeout); the body
    /// never ran.
    #[error("could not acquire the lock: {0}")]
    Acquire(HostError),
    /// The body returned this error; the lock was released afterwards (a
    /// failure of that release is not reported).
    #[error(transparent)]
    Body(E),
    /// The body finished but the lock was lost while it ran: its work was
    /// not protected and must not be trusted.
    #[error("the lock was lost while the work ran: {0}")]
    Lost(String),
    /// The body succeeded and the lock was held throughout, but releasing
    /// it failed, so the stored lock may remain until its TTL expires.
    #[error("the work finished but the lock could not be released: {0}")]
    Release(HostError),
}

impl Lock {
    pub(crate) async fn new(
        instance: Arc<Instance>,
        resource: ResourceAny,
        options: LockOptions,
    ) -> HostResult<Self> {
        let key = instance
            .call_infallible("lock.lock-key", move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_lock_key(s, resource)
                        .await
                })
            })
            .await?;
        let ttl_ms = instance
            .call_infallible("lock.ttl-ms", move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_ttl_ms(s, resource)
                        .await
                })
            })
            .await?;
        Ok(Self {
            inner: Arc::new(LockInner {
                guest: GuestResource::new(instance, resource),
                options,
                key,
                ttl: Duration::from_millis(ttl_ms),
                state: Mutex::new(HeartbeatState::default()),
            }),
        })
    }

    /// Memory and HTTP requests of this lock's instance so far.
    pub fn usage(&self) -> crate::instance::InstanceUsage {
        self.inner.guest.instance().meters.snapshot()
    }

    /// The key this lock guards.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The lease length the guest writes.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// Acquire (the guest retries until max-wait), then start heartbeats
    /// every ttl/3.
    pub async fn acquire(&self) -> HostResult<()> {
        let r = self.inner.guest.get();
        let budget = Duration::from_millis(self.inner.options.max_wait());
        self.inner
            .guest
            .instance()
            .call("lock.acquire", Some(budget), move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_acquire(s, r)
                        .await
                })
            })
            .await?;
        self.start_heartbeats();
        Ok(())
    }

    /// Stop heartbeats, then release through the guest (which deletes the
    /// stored lock only if it is still ours).
    pub async fn release(&self) -> HostResult<()> {
        self.stop_heartbeats();
        let r = self.inner.guest.get();
        self.inner
            .guest
            .instance()
            .call("lock.release", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_release(s, r)
                        .await
                })
            })
            .await
    }

    /// The lock info stored under this key, whoever holds it, or `None`
    /// when nobody does. Changes nothing; an unparsable lock is
    /// [`DatastoreError::CorruptData`].
    pub async fn inspect(&self) -> HostResult<Option<LockInfo>> {
        let r = self.inner.guest.get();
        self.inner
            .guest
            .instance()
            .call("lock.inspect", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_inspect(s, r)
                        .await
                })
            })
            .await
            .map(|o| o.map(Into::into))
    }

    /// Delete the stored lock only if its nonce is `expected_nonce`, so an
    /// operator clears a stuck lock without removing a successor's. True
    /// when it was deleted; false when absent or held under another nonce.
    pub async fn force_release(&self, expected_nonce: &str) -> HostResult<bool> {
        let (r, nonce) = (self.inner.guest.get(), expected_nonce.to_string());
        self.inner
            .guest
            .instance()
            .call("lock.force-release", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_force_release(s, r, &nonce)
                        .await
                })
            })
            .await
    }

    /// One heartbeat now (the scheduler calls this every ttl/3).
    pub async fn heartbeat(&self) -> HostResult<()> {
        let r = self.inner.guest.get();
        let result = self
            .inner
            .guest
            .instance()
            .call("lock.heartbeat", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_lock()
                        .distributed_lock()
                        .call_heartbeat(s, r)
                        .await
                })
            })
            .await;
        let mut state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(()) => state.heartbeats += 1,
            Err(HostError::Datastore(DatastoreError::LockLost(why))) => {
                state.lost.get_or_insert_with(|| why.clone());
            }
            Err(
                e @ (HostError::Trap { .. }
                | HostError::Deadline { .. }
                | HostError::InstanceStopped(_)),
            ) => {
                state
                    .lost
                    .get_or_insert_with(|| format!("heartbeat instance failed: {e}"));
            }
            Err(_) => {}
        }
        result
    }

    /// Why the lock was lost while held, if a heartbeat found that out.
    pub fn lost(&self) -> Option<String> {
        self.state().lost.clone()
    }

    /// How many heartbeats succeeded since this handle was made.
    pub fn heartbeats(&self) -> u64 {
        self.state().heartbeats
    }

    /// Skip scheduled heartbeats (true) or resume them (false). Tests use it
    /// to freeze a holder past its TTL.
    pub fn pause_heartbeats(&self, paused: bool) {
        self.state().paused = paused;
    }

    /// Acquire, run `body`, release, also when `body` fails or panics. A
    /// lock lost while the body ran is reported even if the body succeeded.
    pub async fn with_lock<T, E, F, Fut>(&self, body: F) -> Result<T, WithLockError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.acquire().await.map_err(WithLockError::Acquire)?;
        let outcome = AssertUnwindSafe(body()).catch_unwind().await;
        let lost = self.lost();
        let released = self.release().await;
        let value = match outcome {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(WithLockError::Body(e)),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Some(why) = lost {
            return Err(WithLockError::Lost(why));
        }
        released.map_err(WithLockError::Release)?;
        Ok(value)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HeartbeatState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Heartbeats every ttl/3 from now on. One task per lock beats for
    /// every hold and outlives a release by one idle interval: acquire and
    /// release only write the due time, so a lock taken and released in
    /// quick succession wakes no task (a task spawned per hold and woken to
    /// stop at its release cost two cross-thread wake-ups per hold, more
    /// than the rest of an acquire+release on tmpfs;
    /// `bench/sync-compare/examples/profile_calls.rs`). The task's sleep
    /// never ends after the new due time: it sleeps at most one interval,
    /// and the new due time is one interval from now.
    fn start_heartbeats(&self) {
        let interval = self.interval();
        let start = {
            let mut state = self.state();
            state.lost = None;
            state.hold += 1;
            state.due = Some(Instant::now() + interval);
            !std::mem::replace(&mut state.beating, true)
        };
        if start {
            // The task holds only a weak reference: a dropped lock stops
            // beating at the task's next wake-up.
            tokio::spawn(beat(Arc::downgrade(&self.inner), interval));
        }
    }

    fn stop_heartbeats(&self) {
        self.state().due = None;
    }

    fn interval(&self) -> Duration {
        (self.inner.ttl / 3).max(Duration::from_millis(10))
    }
}

/// The heartbeat task of one lock (see [`Lock::start_heartbeats`]): sleeps
/// until the hold's due time, beats, and repeats; ends when the lock is
/// dropped or after one whole interval without a hold.
async fn beat(weak: Weak<LockInner>, interval: Duration) {
    let mut idle = false;
    loop {
        let wake = {
            let Some(inner) = weak.upgrade() else { return };
            let state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
            state.due.unwrap_or_else(|| Instant::now() + interval)
        };
        tokio::time::sleep_until(wake.into()).await;
        let Some(inner) = weak.upgrade() else { return };
        let lock = Lock { inner };
        let hold = {
            let mut state = lock.state();
            match state.due {
                None if idle => {
                    state.beating = false;
                    return;
                }
                None => {
                    idle = true;
                    continue;
                }
                // Taken again while this task slept: sleep on to its due
                // time.
                Some(due) if Instant::now() < due => continue,
                Some(_) => {
                    idle = false;
                    state.due = Some(Instant::now() + interval);
                    if state.paused {
                        continue;
                    }
                    state.hold
                }
            }
        };
        if let Err(e) = lock.heartbeat().await {
            if lock.lost().is_some() {
                tracing::warn!(key = %lock.key(), "lock lost: {e}");
                let mut state = lock.state();
                if state.hold == hold {
                    state.due = None;
                }
                continue;
            }
            tracing::warn!(key = %lock.key(), "heartbeat failed, will retry: {e}");
        }
    }
}
