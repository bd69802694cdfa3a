//! Generated bindings of the `datastore-provider` world. Only this file and
//! `convert.rs` see generated names; everything else uses `crate::types`.
//!
//! The world's own instantiation helper needs every export, but
//! `shared-store` is new in WIT 0.1.1 and a component built against 0.1.0
//! lacks it. So [`ExportsPre`] looks up each exported interface on its own
//! and treats `shared-store` as optional. The other lookups are by semver,
//! so a 0.1.0 component's `swamp:datastore/sync@0.1.0` fills the 0.1.1
//! binding.
//!
//! `swamp-host/wit` is a symlink to the repository's `wit/`, so the
//! crate's package carries the WIT (why a symlink: guest/sdk/src/bindings.rs).

use wasmtime::AsContextMut;
use wasmtime::component::InstancePre;

// The world's WASI imports are wasmtime-wasi's own bindings (linked by
// `crate::linker`); only the swamp interfaces are generated here.
wasmtime::component::bindgen!({
    path: "wit",
    world: "datastore-provider",
    imports: {
        // Flushes run on the blocking pool, side by side (crate::flush).
        "swamp:datastore/host-info.flush-files": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasi:filesystem": wasmtime_wasi::p2::bindings::filesystem,
        "wasi:cli": wasmtime_wasi::p2::bindings::cli,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

pub use exports::swamp::datastore as guest;
pub use swamp::datastore::types as wit;

/// The exports of one instance.
pub struct Exports {
    datastore: guest::datastore::Guest,
    provider: guest::provider::Guest,
    lock: guest::lock::Guest,
    verifier: guest::verifier::Guest,
    sync: guest::sync::Guest,
    shared_store: Option<guest::shared_store::Guest>,
}

impl Exports {
    pub fn swamp_datastore_datastore(&self) -> &guest::datastore::Guest {
        &self.datastore
    }
    pub fn swamp_datastore_provider(&self) -> &guest::provider::Guest {
        &self.provider
    }
    pub fn swamp_datastore_lock(&self) -> &guest::lock::Guest {
        &self.lock
    }
    pub fn swamp_datastore_verifier(&self) -> &guest::verifier::Guest {
        &self.verifier
    }
    pub fn swamp_datastore_sync(&self) -> &guest::sync::Guest {
        &self.sync
    }
    /// `None` for a component built before WIT 0.1.1.
    pub fn swamp_datastore_shared_store(&self) -> Option<&guest::shared_store::Guest> {
        self.shared_store.as_ref()
    }
}

/// A component linked and checked once; instantiated per sandbox.
pub struct ExportsPre<T: 'static> {
    pre: InstancePre<T>,
    datastore: guest::datastore::GuestIndices,
    provider: guest::provider::GuestIndices,
    lock: guest::lock::GuestIndices,
    verifier: guest::verifier::GuestIndices,
    sync: guest::sync::GuestIndices,
    shared_store: Option<guest::shared_store::GuestIndices>,
}

impl<T: Send + 'static> ExportsPre<T> {
    /// Find every export; fails when a 0.1.0 interface is missing.
    pub fn new(pre: InstancePre<T>) -> wasmtime::Result<Self> {
        Ok(Self {
            datastore: guest::datastore::GuestIndices::new(&pre)?,
            provider: guest::provider::GuestIndices::new(&pre)?,
            lock: guest::lock::GuestIndices::new(&pre)?,
            verifier: guest::verifier::GuestIndices::new(&pre)?,
            sync: guest::sync::GuestIndices::new(&pre)?,
            shared_store: guest::shared_store::GuestIndices::new(&pre).ok(),
            pre,
        })
    }

    /// Whether the component exports `shared-store` (WIT 0.1.1 and later).
    pub fn has_shared_store(&self) -> bool {
        self.shared_store.is_some()
    }

    /// Instantiate and type-check every export found.
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
    ) -> wasmtime::Result<Exports> {
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(Exports {
            datastore: self.datastore.load(&mut store, &instance)?,
            provider: self.provider.load(&mut store, &instance)?,
            lock: self.lock.load(&mut store, &instance)?,
            verifier: self.verifier.load(&mut store, &instance)?,
            sync: self.sync.load(&mut store, &instance)?,
            shared_store: self
                .shared_store
                .as_ref()
                .map(|s| s.load(&mut store, &instance))
                .transpose()?,
        })
    }
}
