//! swamp-host's integration tests, as one test binary (one executable to
//! build and link instead of one per file): each former `tests/*.rs` is a
//! module here, and the helpers they share are in `common`. The component
//! tests of every backend live here, a module per backend: `fs`
//! (fs-datastore on real directories) and `s3` (s3-datastore against a
//! SeaweedFS the tests start); the Python helper the `s3` tests run stays in
//! `tests/` (`boto3_layout.py`).
//!
//! Run one module with a filter: `cargo test -p swamp-host --test all --
//! sandbox::`, or one backend's: `-- s3::`, `-- fs::hostile_corpus::`.

mod common;
mod fs;
mod messages;
mod s3;
mod sandbox;
mod shared_store;
mod world;
