//! host-harness's integration tests, as one test binary (one executable to
//! build and link instead of one per file): each former `tests/*.rs` is a
//! module here, and the helpers they share are in `common`.
//!
//! Run one module with a filter: `cargo test -p host-harness --test all --
//! cli::`.

mod cli;
mod common;
mod deno_extension;
mod js_datastore;
mod new_crate;
