//! Messages an author or operator can act on, end to end through the real
//! host and the real fs-datastore: a file error on a path no mount grants
//! says so, lists what was mounted, names the `x-swamp-mount` annotation
//! and the error by its name, not `os error 44`.

use crate::common::{fs_plugin, host};
use serde_json::json;
use swamp_host::OpenOptions;

#[tokio::test(flavor = "multi_thread")]
async fn a_path_outside_every_mount_is_named_with_the_annotation_that_grants_it() {
    let plugin = fs_plugin(&host()).await;
    let dir = tempfile::tempdir().unwrap();
    // The datastore directory does not exist when the provider is opened,
    // so nothing is mounted for it; it appears afterwards.
    let share = dir.path().join("share");
    let provider = plugin
        .open(json!({"path": share}), OpenOptions::default())
        .await
        .unwrap();
    std::fs::create_dir_all(&share).unwrap();
    let err = provider
        .register_namespace(share.to_str().unwrap(), "team", "repo-1")
        .await
        .unwrap_err()
        .to_string();
    for want in [
        "is outside every directory the host mounted for this datastore",
        "x-swamp-mount",
        "ENOENT",
        share.to_str().unwrap(),
    ] {
        assert!(err.contains(want), "missing {want:?} in: {err}");
    }
    assert!(!err.contains("os error 44"), "{err}");
}
