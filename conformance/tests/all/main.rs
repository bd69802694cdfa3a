//! conformance's integration tests on the built-in test harness, as one
//! test binary (one executable to build and link instead of one per file):
//! each is a module here, the whole suite on one bundled backend each:
//! `fs_datastore` (fs-datastore on local directories, and the README's
//! example) and `s3_datastore` (s3-datastore on a SeaweedFS the test
//! starts). `tests/broken_guests.rs` is a binary of its own, on a harness
//! of its own (libtest-mimic, so more suites run at once than the built-in
//! harness would; that file says why). The checked-in components the tests
//! load stay in `tests/fixtures/`.
//!
//! Run one module with a filter: `cargo test -p conformance --test all --
//! s3_datastore::`.

mod fs_datastore;
mod s3_datastore;
