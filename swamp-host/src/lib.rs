//! Embeds swamp datastore components as sandboxed plugins.
//!
//! One [`Host`] per process owns the wasmtime engine, the linker and the
//! epoch ticker. [`Host::load`] compiles a component once (and caches the
//! compiled form on disk), reads its identity and config schema, and returns
//! a [`Plugin`]. [`Plugin::open`] validates a config against the schema,
//! derives the sandbox from it, instantiates the component in a fresh store
//! and returns a [`Provider`], from which typed [`Lock`], [`Verifier`] and
//! [`SyncService`] handles are made.

#![deny(missing_docs)]

mod abort;
mod bindings;
mod convert;
pub mod error;
mod flush;
mod guest_resource;
mod guest_stderr;
mod guest_thread;
mod host;
mod http_client;
mod instance;
mod linker;
mod lock;
mod plugin;
mod provider;
pub mod sandbox;
mod schema;
mod shared_store;
mod sync;
pub mod types;
mod verifier;

pub use abort::CallAbort;
pub use error::{DatastoreError, HostError, HostResult};
pub use host::{EnvSource, Host, HostOptions};
pub use instance::InstanceUsage;
pub use lock::{Lock, WithLockError};
pub use plugin::Plugin;
pub use provider::{OpenOptions, Provider};
pub use sandbox::{Limits, SandboxPolicy};
pub use sync::SyncService;
pub use types::*;
pub use verifier::Verifier;
