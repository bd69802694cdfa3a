//! Helpers shared by the modules of this test binary.

use swamp_host::{Host, HostOptions, Plugin};

/// A host with the default limits and no cache of compiled components on
/// disk (`fs_datastore::compiled_components_are_cached_on_disk` makes its
/// own).
pub fn host() -> Host {
    Host::new(HostOptions {
        cache_dir: None,
        ..HostOptions::default()
    })
    .unwrap()
}

/// The real fs-datastore component, loaded into `host`.
pub async fn fs_plugin(host: &Host) -> Plugin {
    let wasm = std::path::PathBuf::from(test_guests_artifacts::FS_DATASTORE);
    host.load(&wasm).await.unwrap()
}
