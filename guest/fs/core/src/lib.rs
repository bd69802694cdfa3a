//! `@swamp-wasm/fs-datastore`: a swamp datastore in a directory on a local
//! disk or a network share, as a WebAssembly component.
//!
//! * `{"path": "/abs/dir"}` — the datastore lives in that directory; locks
//!   are lock files in it.
//! * `{"path": "/abs/share", "cache": true}` — swamp works in a local cache
//!   that syncs with the share (same layout and index as swamp's S3
//!   datastore); locks stay on the share.
//!
//! This crate is the datastore as a library: all logic, plain Rust, tested
//! natively. The component itself is the thin `fs-datastore` crate beside
//! it (one export line), so test guests can wrap this library in components
//! of their own without exporting two worlds.

#![deny(missing_docs)]

pub mod config;
pub mod namespaces;
pub mod provider;
pub mod remote;
pub mod verifier;

use swamp_datastore_sdk::serde_json::Value;
use swamp_datastore_sdk::{Datastore, Provider, Result};

use crate::config::FsConfig;
use crate::provider::FsProvider;

/// The datastore type (`swamp` and `si` are reserved collectives).
pub const DATASTORE_TYPE: &str = "@swamp-wasm/fs-datastore";

/// The exported datastore.
pub struct FsDatastore;

impl Datastore for FsDatastore {
    fn datastore_type() -> String {
        DATASTORE_TYPE.into()
    }
    fn name() -> String {
        "Filesystem".into()
    }
    fn description() -> String {
        "Store swamp data in a directory on a local disk or a network share, optionally through a synced local cache".into()
    }
    fn config_schema() -> String {
        config::SCHEMA.into()
    }
    fn create_provider(config: Value) -> Result<Box<dyn Provider>> {
        let cfg = FsConfig::parse(&config)?;
        Ok(Box::new(FsProvider::new(
            cfg,
            DATASTORE_TYPE,
            swamp_datastore_sdk::host::identity,
        )))
    }
}

// Gated so that another guest can use this crate as a library
// (`default-features = false`) without exporting a second world.
