//! What a check body ends with: its [`Status`] (pass, fail or skip with
//! the reason), the `Outcome` a body returns, the prefix that marks a skip
//! the author can lift, and `OrFail`, which turns any error into a failure.

use std::fmt;

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The component did what the check asks.
    Pass,
    /// The component does not honour the contract; the reason says how.
    Fail(String),
    /// The check does not apply (a capability not advertised, no configs
    /// given); the reason says why.
    Skipped(String),
}

impl Status {
    /// A skip the author can lift by giving an input (its reason starts with "needs input: ").
    pub fn needs_input(&self) -> bool {
        matches!(self, Status::Skipped(m) if m.starts_with(NEEDS_INPUT))
    }

    /// The status in lower case, `pass`, `fail` or `skipped`, as the JSON
    /// report's `status` field gives it.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail(_) => "fail",
            Status::Skipped(_) => "skipped",
        }
    }

    /// The failure or skip reason; empty on pass.
    pub fn message(&self) -> &str {
        match self {
            Status::Pass => "",
            Status::Fail(m) | Status::Skipped(m) => m,
        }
    }
}

/// What a check body returns: `Ok(())` is a pass; `Err(status)` a failure
/// or a skip.
pub(crate) type Outcome = Result<(), Status>;

/// The start of the reason of a skip that the author can lift by giving
/// the suite an input (a config, a flag); `check --strict` fails on these.
pub const NEEDS_INPUT: &str = "needs input: ";

/// Turns any error into a failure naming the step that failed.
pub(crate) trait OrFail<T> {
    fn or_fail(self, step: &str) -> Result<T, Status>;
}

impl<T, E: fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, step: &str) -> Result<T, Status> {
        self.map_err(|e| Status::Fail(format!("{step}: {e}")))
    }
}
