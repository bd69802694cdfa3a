//! conformance's integration tests on the built-in test harness, as one
//! test binary (one executable to build and link instead of one per file):
//! each such `tests/*.rs` is a module here. `tests/broken_guests.rs` is a
//! binary of its own, on a harness of its own (libtest-mimic, so more
//! suites run at once than the built-in harness would; that file says
//! why). The checked-in components the tests load stay in `tests/fixtures/`.
//!
//! Run one module with a filter: `cargo test -p conformance --test all --
//! fs_datastore::`.

mod fs_datastore;
