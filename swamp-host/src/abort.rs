//! Aborting a running sync call from outside, the way the WIT asks for it:
//! the guest stops cleanly at its next deadline check with `aborted`.
//!
//! Each instance's monotonic clock is the host's, jumped far forward while
//! its abort flag is set. A call made with a `timeout-ms` then finds its
//! deadline spent and returns `aborted`; no write is cut in half, as it
//! would be if the call's future were dropped. A guest that never checks
//! its deadline finishes the call first (the host's own deadline still
//! stops it at `timeout-ms` plus the grace period). The packaged
//! extension's JavaScript runtime (`packaging/js/wasi.ts`) does the same
//! for its portable path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How far the clock jumps once a call is aborted (60 days).
const ABORT_JUMP_NS: u64 = 60 * 24 * 3600 * 1_000_000_000;

/// Sets and clears the abort flag of one instance; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CallAbort(Arc<AtomicBool>);

impl CallAbort {
    /// Make the running call (and any call made until [`reset`](Self::reset))
    /// find its deadline spent.
    pub fn abort(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Let calls run to their own deadlines again.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub(crate) fn clock(&self) -> AbortableClock {
        AbortableClock {
            start: Instant::now(),
            flag: self.0.clone(),
        }
    }
}

/// The guest's monotonic clock: nanoseconds since the instance began,
/// plus [`ABORT_JUMP_NS`] while aborted.
pub(crate) struct AbortableClock {
    start: Instant,
    flag: Arc<AtomicBool>,
}

impl wasmtime_wasi::HostMonotonicClock for AbortableClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        let base = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if self.flag.load(Ordering::SeqCst) {
            base.saturating_add(ABORT_JUMP_NS)
        } else {
            base
        }
    }
}
