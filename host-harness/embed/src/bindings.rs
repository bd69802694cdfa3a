//! Generated bindings of the `datastore-provider` world. Only this file and
//! `convert.rs` see generated names; everything else uses `crate::types`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "datastore-provider",
    imports: { default: trappable },
    exports: { default: async },
});

pub use exports::swamp::datastore as guest;
pub use swamp::datastore::types as wit;
