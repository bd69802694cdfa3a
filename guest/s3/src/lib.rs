//! `@swamp-wasm/s3-datastore`: a swamp datastore on any S3-compatible
//! object store (AWS S3, SeaweedFS, MinIO, Ceph, R2, ...), as a WebAssembly
//! component, sharing buckets with the original `@swamp/s3-datastore`
//! (same config, lock keys and lock JSON, same sync layout).
//!
//! Layout: pure logic in plain modules tested natively ([`config`],
//! [`sigv4`], [`xml`], [`retry`], [`client`], [`lock`], [`verifier`],
//! [`remote`]) over the small async [`http::Transport`] seam; only `wasi`
//! (compiled for wasm32 only) touches wasi:http, through `wstd`.
//!
//! Addressing: path-style (`{endpoint}/{bucket}/{key}`) when
//! `forcePathStyle` is set, when the endpoint host is an IP address or
//! `localhost`, or for dotted bucket names over https; virtual-hosted
//! (`{bucket}.{host}`) otherwise. Without an `endpoint` the region's AWS
//! endpoint `https://s3.{region}.amazonaws.com` is used.

pub mod client;
pub mod config;
pub mod http;
pub mod lock;
pub mod namespaces;
pub mod provider;
pub mod remote;
pub mod retry;
pub mod sigv4;
pub mod verifier;
#[cfg(target_arch = "wasm32")]
mod wasi;
pub mod xml;

use swamp_datastore_sdk::serde_json::Value;
use swamp_datastore_sdk::{Datastore, Provider, Result};

use crate::config::S3Config;

/// The datastore type (`swamp` and `si` are reserved collectives).
pub const DATASTORE_TYPE: &str = "@swamp-wasm/s3-datastore";

/// The exported datastore.
pub struct S3Datastore;

impl Datastore for S3Datastore {
    fn datastore_type() -> String {
        DATASTORE_TYPE.into()
    }
    fn name() -> String {
        "S3-compatible object store".into()
    }
    fn description() -> String {
        "Store swamp data in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph, R2), bucket-compatible with @swamp/s3-datastore".into()
    }
    fn config_schema() -> String {
        config::SCHEMA.into()
    }
    fn create_provider(config: Value) -> Result<Box<dyn Provider>> {
        let cfg = S3Config::parse(&config)?;
        build(cfg)
    }
}

#[cfg(target_arch = "wasm32")]
fn build(cfg: S3Config) -> Result<Box<dyn Provider>> {
    let client = client::S3Client::new(wasi::WasiTransport, cfg, &|k| std::env::var(k).ok());
    Ok(Box::new(provider::S3Provider::new(
        client,
        DATASTORE_TYPE,
        swamp_datastore_sdk::host::identity,
    )))
}

#[cfg(not(target_arch = "wasm32"))]
fn build(_cfg: S3Config) -> Result<Box<dyn Provider>> {
    Err(swamp_datastore_sdk::Error::Unsupported(
        "the S3 datastore talks HTTP only inside its component (wasm32-wasip2)".into(),
    ))
}

swamp_datastore_sdk::export_datastore!(S3Datastore);
