//! Write a swamp datastore as a WebAssembly component in plain Rust.
//!
//! An author implements [`Datastore`] (identity, config schema, provider
//! factory), [`Provider`], [`Lock`] (or only the four store operations of
//! a [`lock_engine::LockStore`], with [`lock_engine::EngineLock`] doing the
//! rest; for lock files in a directory [`lock_engine::LockDir`] is that
//! store), [`Verifier`] and optionally [`SyncService`], then writes one
//! line. A complete datastore in 60 lines, and the walkthrough from an
//! empty directory, are `guest/examples/dir-datastore` and README.md's
//! "Writing a datastore" in this crate's repository. The smallest shape:
//!
//! ```no_run
//! use swamp_datastore_sdk::*;
//!
//! struct Mem;
//! impl Datastore for Mem {
//!     fn datastore_type() -> String { "@me/mem".into() }
//!     fn name() -> String { "Mem".into() }
//!     fn description() -> String { "An example".into() }
//!     fn config_schema() -> String { r#"{"type": "object"}"#.into() }
//!     fn create_provider(_config: serde_json::Value) -> Result<Box<dyn Provider>> {
//!         Ok(Box::new(MemProvider))
//!     }
//! }
//!
//! struct MemProvider;
//! impl Provider for MemProvider {
//!     fn features(&self) -> ProviderFeatures { ProviderFeatures::default() }
//!     fn create_lock(&self, _path: &str, _options: LockOptions) -> Result<Box<dyn Lock>> {
//!         Err(Error::unsupported("lock"))
//!     }
//!     fn create_verifier(&self) -> Result<Box<dyn Verifier>> {
//!         Err(Error::unsupported("verifier"))
//!     }
//!     fn resolve_datastore_path(&self, repo_dir: &str) -> Result<String> {
//!         Ok(format!("{repo_dir}/.swamp"))
//!     }
//! }
//!
//! swamp_datastore_sdk::export_datastore!(Mem);
//! # fn main() {}
//! ```
//!
//! The SDK owns the generated bindings and every conversion. Besides the
//! bridge it carries the pure logic datastores share, all testable natively:
//! [`rel_path`] validation, the [`lock_info`] JSON, [`config`] checking,
//! [`namespace`] slugs, ISO-8601 time ([`iso_time`]), nonces, atomic local
//! writes ([`atomic_file`]), a complete [`sync`] engine (dirty tracking,
//! index diff, hashing) over a small [`sync::RemoteStore`] trait, and the
//! whole lock protocol ([`lock_engine`]) over a smaller
//! [`lock_engine::LockStore`].

#![deny(missing_docs)]

#[doc(hidden)]
pub mod bindings;

pub mod atomic_file;
pub mod claim;
pub mod config;
mod error;
mod export;
pub mod host;
pub mod io_error;
pub mod iso_time;
pub mod lock_engine;
pub mod lock_info;
pub mod memcmp;
pub mod namespace;
pub mod nonce;
pub mod read_file;
pub mod rel_path;
pub mod sync;
mod traits;
mod wasi_mounts;
pub mod write_file;

pub use error::{Error, Result};
#[doc(hidden)]
pub use export::Export;
pub use lock_info::{LockInfo, LockInfoExt};
pub use rel_path::RelPath;
pub use traits::{Datastore, Lock, Provider, SharedStore, SyncService, Verifier};
// The WIT's records, one copy shared with the host (`types/`).
pub use swamp_datastore_types::{
    CatalogExport, ConfigProblem, ContaminationSummary, ForeignNamespace, HealthResult,
    HolderIdentity, LockOptions, ModelRef, ProviderFeatures, PushManifest, PushPreview,
    SharedFeatures, SyncCapabilities, SyncContext, SyncOptions,
};

/// Re-exported so authors use the same version as the SDK.
pub use serde_json;

/// Export `$datastore` (a type implementing [`Datastore`]) as the
/// component's `datastore-provider` world. Use once, at the crate root of a
/// `cdylib` built for `wasm32-wasip2`. On other targets (native unit tests)
/// it only checks the type, since the export symbols exist only in a
/// component.
#[macro_export]
macro_rules! export_datastore {
    ($datastore:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SwampDatastoreExport = $crate::Export<$datastore>;
    $crate::bindings::export!(__SwampDatastoreExport with_types_in $crate::bindings);
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = $crate::__assert_datastore::<$datastore>;
    };
}

/// Compile-time check used by [`export_datastore!`] off the wasm target.
#[doc(hidden)]
pub fn __assert_datastore<D: Datastore>() {}
