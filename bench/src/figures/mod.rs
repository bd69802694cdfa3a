//! One file per figure of `make bench` (the figures and their targets are
//! listed in README.md's Benchmarks section; d and h live in
//! `bench/sync-compare`).

pub mod big_file;
pub mod call_overhead;
pub mod index_scale;
pub mod loading;
pub mod lock_latency;
