//! The `host-harness` library: the embedding API of [`swamp_host`] (load a
//! datastore component, sandbox it, call it through typed handles) together
//! with the [`conformance`] suite that the `host-harness` binary runs.

pub mod bundled;
pub mod package;
pub mod scaffold;

pub use conformance;
pub use swamp_host::*;
