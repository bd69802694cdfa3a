//! Helpers shared by the modules of this test binary.

use swamp_host::{Host, HostError, HostOptions, Lock, Plugin};

/// A host with the default limits and no cache of compiled components on
/// disk (`fs::datastore::compiled_components_are_cached_on_disk` makes its
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

/// Whether a lock handle made after a hostile lock case still answers (no
/// trap, no stuck instance): its `inspect` returns, with a datastore error
/// or without; else why not. The hostile corpus's lock cases note it as
/// `alive` on every backend (`fs::hostile_corpus`, `s3::hostile_corpus`).
pub async fn fresh_lock_answers(fresh: Result<Lock, HostError>) -> Result<(), String> {
    match fresh {
        Ok(l) => match l.inspect().await {
            Ok(_) | Err(HostError::Datastore(_)) => Ok(()),
            Err(e) => Err(format!("a fresh lock handle fails: {e}")),
        },
        Err(e) => Err(format!("no fresh lock handle: {e}")),
    }
}
