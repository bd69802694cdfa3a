//! The thread that runs one instance's guest calls.
//!
//! A call must run on a thread other than its caller's, so that its
//! wall-clock deadline holds even when the guest's thread is stuck inside a
//! file operation (with `Limits::file_io_on_caller_thread`, in
//! `sandbox.rs`, file calls run on that thread): the caller then returns at
//! the deadline and leaves the stuck thread behind. Handing each call to
//! the tokio runtime as a task of its own did that, but every call then
//! cost two cross-thread wake-ups (a parked worker woken for the task, the
//! caller woken for its end), and a wake-up of an idle vCPU costs more than
//! a whole small call: an empty guest call took 14 to 18 µs that way
//! against under 1 µs run in place (`bench/sync-compare/examples/
//! profile_calls.rs`).
//!
//! So each instance has a thread of its own, and both sides of a hand-over
//! poll briefly before they park: the thread waits [`IDLE_SPIN`] for the
//! next call after each one, and the caller waits [`ANSWER_SPIN`] for the
//! answer before it yields to its runtime. Calls that follow each other
//! closely (a lock's acquire, inspect and release; a verifier's checks)
//! then cross without a wake-up; a longer pause costs at most that much
//! polling on each side. Each round of polling yields the CPU
//! (`sched_yield`): a busy loop without it made every call several times
//! slower while other work kept both cores busy (an empty call 30 to
//! 120 µs against 4.5 to 5 µs yielding), because the side that polled held
//! the core the other side needed.
//! The thread runs the call with the runtime's handle, so timers, sockets
//! and the blocking pool are the caller's runtime's. It ends when its
//! instance is dropped (after the call it is running, if it is stuck).

use futures::FutureExt;
use futures::future::{AbortHandle, Abortable, BoxFuture};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long the thread spins for the next call before it parks.
const IDLE_SPIN: Duration = Duration::from_micros(50);
/// How long a caller spins for its answer before it yields to its runtime.
const ANSWER_SPIN: Duration = Duration::from_micros(50);

type Job = BoxFuture<'static, ()>;

/// One instance's guest thread; dropping it lets the thread end.
pub(crate) struct GuestThread {
    jobs: Sender<Job>,
}

impl GuestThread {
    /// Start the thread, bound to the runtime the caller runs in.
    pub(crate) fn start() -> Result<Self, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "a guest instance must be opened inside a tokio runtime".to_string())?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("swamp-guest".into())
            .spawn(move || {
                while let Some(job) = next_job(&queue) {
                    runtime.block_on(job);
                }
            })
            .map_err(|e| format!("could not start the guest's thread: {e}"))?;
        Ok(Self { jobs })
    }

    /// Run `call` on the thread. The answer is its output, or why there is
    /// none (the host code under the guest panicked); the handle drops the
    /// call at its next await.
    pub(crate) fn run<R: Send + 'static>(
        &self,
        call: impl Future<Output = R> + Send + 'static,
    ) -> (Answer<R>, AbortHandle) {
        let (tx, rx) = oneshot::channel();
        let (abort, registration) = AbortHandle::new_pair();
        let call = Abortable::new(AssertUnwindSafe(call).catch_unwind(), registration);
        let job = async move {
            let outcome = match call.await {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(panic)) => Err(panic_message(panic.as_ref())),
                Err(_aborted) => return,
            };
            let _ = tx.send(outcome);
        };
        // A send fails only when the thread is gone; the job and its
        // sender are dropped with the error, so the answer says so.
        let _ = self.jobs.send(job.boxed());
        (
            Answer {
                rx,
                spin_until: None,
            },
            abort,
        )
    }
}

/// The next job, after spinning [`IDLE_SPIN`] for it; `None` once the
/// instance is gone.
fn next_job(queue: &Receiver<Job>) -> Option<Job> {
    let until = Instant::now() + IDLE_SPIN;
    loop {
        match queue.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if Instant::now() < until => std::thread::yield_now(),
            Err(TryRecvError::Empty) => return queue.recv().ok(),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The answer to a call handed to a [`GuestThread`]: the call's output, or
/// why the host has none.
pub(crate) struct Answer<R> {
    rx: oneshot::Receiver<Result<R, String>>,
    spin_until: Option<Instant>,
}

impl<R> Future for Answer<R> {
    type Output = Result<R, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let until = *self
            .spin_until
            .get_or_insert_with(|| Instant::now() + ANSWER_SPIN);
        let gone = || Err("the guest's thread ended without an answer".to_string());
        loop {
            match self.rx.try_recv() {
                Ok(answer) => return Poll::Ready(answer),
                Err(oneshot::error::TryRecvError::Closed) => return Poll::Ready(gone()),
                Err(oneshot::error::TryRecvError::Empty) if Instant::now() < until => {
                    std::thread::yield_now()
                }
                Err(oneshot::error::TryRecvError::Empty) => break,
            }
        }
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| gone()))
    }
}
