//! reliability's integration tests, as one test binary (one executable to
//! build and link instead of one per file): each former `tests/*.rs` is a
//! module here; `support` is the crash scenario as the crash tests run it.
//!
//! Run one scenario with a filter: `cargo test -p reliability --test all --
//! contention::` (or `fencing::`, `crash_fs::`, `crash_s3::`).

mod contention;
mod crash_fs;
mod crash_s3;
mod fencing;
mod support;
