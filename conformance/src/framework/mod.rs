//! The machinery every check shares: what is checked ([`Subject`]), the
//! check registry, the runner (per-check timeout, panics become failures),
//! and the isolation helpers that give a check a datastore of its own.
//!
//! It is in files along those lines: `subject.rs` (the [`Subject`] and
//! the field it isolates checks by), `suite.rs` (the suites and the
//! [`Filter`] that selects checks), `status.rs` (what a check body ends
//! with: [`Status`], `Outcome`, `OrFail`), `macros.rs` (`check!` to
//! register a check, `fail!`, `ensure!`, `skip!` and `skip_for_input!` to
//! end one), `runner.rs` (the registered `Check`, running checks into
//! [`CheckResult`]s) and `context.rs` (`Ctx`, what a check body gets, and
//! the `Fixture` it opens). Everything is used through this module's
//! re-exports, so callers name `crate::framework::X` whichever file holds
//! `X`.

mod context;
mod macros;
mod runner;
mod status;
mod subject;
mod suite;

pub(crate) use context::{Ctx, Fixture};
pub(crate) use macros::{check, ensure, fail, skip, skip_for_input};
pub use runner::CheckResult;
pub(crate) use runner::{Check, run_checks};
pub use status::{NEEDS_INPUT, Status};
pub(crate) use status::{OrFail, Outcome};
pub use subject::Subject;
pub use suite::{Filter, ParseError, Suite};
