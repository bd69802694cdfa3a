//! Running checks: a registered [`Check`], [`run_checks`] running those a
//! filter selects one after the other, each into a [`CheckResult`], and
//! [`settle`], which turns a body's panic or overrun of its timeout into a
//! failure.

use super::{Ctx, Filter, Outcome, Status, Subject, Suite};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's stable id, `<suite>.<kebab-case-name>`.
    pub id: &'static str,
    /// The suite the check belongs to.
    pub suite: Suite,
    /// What the check verifies, in one line (as in the catalogue).
    pub description: &'static str,
    /// Pass, or fail or skip with the reason.
    pub status: Status,
    /// Wall-clock time the check took; a check still running at the
    /// subject's `check_timeout` is failed at that point.
    pub duration: Duration,
}

/// A registered check.
pub(crate) struct Check {
    pub id: &'static str,
    pub suite: Suite,
    pub description: &'static str,
    pub run: fn(Ctx) -> BoxFuture<'static, Outcome>,
}

/// Run every registered check that matches `filter`, one after the other.
pub(crate) async fn run_checks(
    subject: &Subject,
    checks: Vec<Check>,
    filter: &Filter,
) -> Vec<CheckResult> {
    let subject = Arc::new(subject.clone());
    let mut results = Vec::new();
    for check in checks.into_iter().filter(|c| filter.matches(c.id, c.suite)) {
        let cx = Ctx {
            subject: subject.clone(),
            id: check.id,
        };
        let started = Instant::now();
        let status = settle((check.run)(cx), subject.check_timeout).await;
        results.push(CheckResult {
            id: check.id,
            suite: check.suite,
            description: check.description,
            status,
            duration: started.elapsed(),
        });
    }
    results
}

/// Await a check body within `timeout`; a panic or a timeout is a failure.
pub(crate) async fn settle(body: impl Future<Output = Outcome>, timeout: Duration) -> Status {
    match tokio::time::timeout(timeout, AssertUnwindSafe(body).catch_unwind()).await {
        Ok(Ok(Ok(()))) => Status::Pass,
        Ok(Ok(Err(status))) => status,
        Ok(Err(panic)) => Status::Fail(format!("the check panicked: {}", panic_message(&panic))),
        Err(_) => Status::Fail(format!(
            "the check did not finish within {} ms",
            timeout.as_millis()
        )),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_and_timeouts_become_failures() {
        let t = Duration::from_millis(100);
        assert_eq!(settle(async { Ok(()) }, t).await, Status::Pass);
        assert_eq!(
            settle(async { Err(Status::Skipped("why".into())) }, t).await,
            Status::Skipped("why".into())
        );
        match settle(async { panic!("boom") }, t).await {
            Status::Fail(m) => assert!(m.contains("panicked") && m.contains("boom"), "{m}"),
            other => panic!("{other:?}"),
        }
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        match settle(slow, t).await {
            Status::Fail(m) => assert!(m.contains("did not finish"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
