//! The records of the swamp datastore WIT package (`wit/`) as plain Rust:
//! one copy, shared by the guest SDK (`swamp-datastore-sdk`, which an
//! author writes against) and the host (`swamp-host`, which a caller
//! drives). Each side converts between these and the types its own
//! bindings generate (`guest/sdk/src/export/convert.rs`,
//! `swamp-host/src/convert.rs`), so generated types never leak
//! into either API.
//!
//! The modules follow what the records are about: [`provider`]
//! (`wit/provider.wit`; a config problem of `wit/types.wit`),
//! [`host_info`] (the holder identity of `wit/types.wit`), [`lock`]
//! (`wit/lock.wit`; the lock info of `wit/types.wit`), [`verifier`]
//! (`wit/verifier.wit`), [`sync`] (`wit/sync.wit`) and [`shared_store`]
//! (`wit/shared-store.wit`). Every record serialises to
//! JSON with camelCase keys, as the host prints them and the packaged
//! extension's JavaScript reads them.

#![deny(missing_docs)]

pub mod host_info;
pub mod lock;
pub mod provider;
pub mod shared_store;
pub mod sync;
pub mod verifier;

pub use host_info::HolderIdentity;
pub use lock::{LockInfo, LockOptions};
pub use provider::{ConfigProblem, ProviderFeatures};
pub use shared_store::{CatalogExport, ContaminationSummary, ForeignNamespace, SharedFeatures};
pub use sync::{ModelRef, PushManifest, PushPreview, SyncCapabilities, SyncContext, SyncOptions};
pub use verifier::HealthResult;
