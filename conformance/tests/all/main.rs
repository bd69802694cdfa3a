//! conformance's integration tests, as one test binary (one executable to
//! build and link instead of one per file): each former `tests/*.rs` is a
//! module here. The checked-in components they load stay in
//! `tests/fixtures/`.
//!
//! Run one module with a filter: `cargo test -p conformance --test all --
//! fs_datastore::`.

mod broken_guests;
mod fs_datastore;
