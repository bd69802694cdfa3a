//! swamp-host's integration tests, as one test binary (one executable to
//! build and link instead of one per file): each former `tests/*.rs` is a
//! module here, and the helpers they share are in `common`.
//!
//! Run one module with a filter: `cargo test -p swamp-host --test all --
//! sandbox::`.

mod common;
mod fs_datastore;
mod hostile_corpus;
mod messages;
mod sandbox;
mod shared_store;
mod world;
