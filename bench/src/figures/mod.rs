//! One file per figure of issue 6 (d lives in `bench/sync-compare`).

pub mod big_file;
pub mod call_overhead;
pub mod index_scale;
pub mod loading;
pub mod lock_latency;
