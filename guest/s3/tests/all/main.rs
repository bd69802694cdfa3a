//! s3-datastore's integration tests, as one test binary (one executable to
//! build and link instead of one per file): each former `tests/*.rs` is a
//! module here, and `support` holds what they share (a host, the
//! component, a bucket's config, boto3, the fault-injecting proxy). The
//! Python helpers the tests run stay in `tests/` (`boto3_layout.py`,
//! `botocore_sign.py`).
//!
//! Run one module with a filter: `cargo test -p s3-datastore --test all --
//! faults::`.

mod botocore_sigv4;
mod conformance;
mod faults;
mod hostile_corpus;
mod interop;
mod interop_shared;
mod robustness;
mod s3_datastore;
mod support;
