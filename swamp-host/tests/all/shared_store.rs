//! The shared-store calls through swamp-host: the fs-datastore of this
//! tree has every feature and keeps swamp's keys in the share; the one
//! built against WIT 0.1.0 (checked in under conformance/tests/fixtures)
//! loads without the interface, advertises nothing and answers every call
//! with `unsupported`, never a trap.

use crate::common::host;
use serde_json::json;
use std::path::{Path, PathBuf};
use swamp_host::{DatastoreError, HostError, OpenOptions, SharedFeatures, SyncService};

async fn cached_service(wasm: &Path, dir: &Path) -> SyncService {
    let plugin = host().load(wasm).await.unwrap();
    let share = dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    let provider = plugin
        .open(
            json!({"path": share, "cache": true}),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    provider
        .create_sync_service(repo.to_str().unwrap(), dir.join("cache").to_str().unwrap())
        .await
        .unwrap()
        .unwrap()
}

fn fixture_0_1_0() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/tests/fixtures/fs_datastore-wit-0.1.0.wasm")
}

#[tokio::test(flavor = "multi_thread")]
async fn fs_datastore_keeps_control_records_and_exports_at_swamps_keys() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = std::path::PathBuf::from(test_guests_artifacts::FS_DATASTORE);
    let svc = cached_service(&wasm, dir.path()).await;
    let all = SharedFeatures {
        control_plane: true,
        catalogs: true,
        contamination_repair: true,
    };
    assert_eq!(svc.shared_features().await.unwrap(), all);
    svc.control_put(Some("team"), "heartbeats/a.json", b"{}")
        .await
        .unwrap();
    assert!(
        svc.control_put_if_absent(None, "claims/c", b"1")
            .await
            .unwrap()
    );
    assert!(svc.export_catalog("team", "[]").await.unwrap());
    let share = dir.path().join("share");
    assert_eq!(
        std::fs::read(share.join("team/_control/heartbeats/a.json")).unwrap(),
        b"{}"
    );
    assert_eq!(
        std::fs::read(share.join("_control/claims/c")).unwrap(),
        b"1"
    );
    assert_eq!(
        std::fs::read(share.join("team/.catalog-export.json")).unwrap(),
        b"[]"
    );
    match svc.control_put(None, "../outside", b"x").await {
        Err(HostError::Datastore(DatastoreError::InvalidArgument(m))) => {
            assert!(m.contains("../outside"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!share.join("outside").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wit_0_1_0_component_has_no_shared_store_and_answers_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = host().load(&fixture_0_1_0()).await.unwrap();
    assert!(!plugin.has_shared_store());
    let svc = cached_service(&fixture_0_1_0(), dir.path()).await;
    assert_eq!(
        svc.shared_features().await.unwrap(),
        SharedFeatures::default()
    );
    let unsupported = |r: Result<(), HostError>| match r {
        Err(HostError::Datastore(DatastoreError::Unsupported(m))) => {
            assert!(m.contains("WIT 0.1.0"), "{m}")
        }
        other => panic!("expected unsupported, got {other:?}"),
    };
    unsupported(svc.control_put(None, "k", b"x").await);
    unsupported(svc.control_get(None, "k").await.map(drop));
    unsupported(svc.control_list(None, "").await.map(drop));
    unsupported(svc.export_catalog("team", "[]").await.map(drop));
    unsupported(svc.pull_foreign_catalogs(&["team".into()]).await.map(drop));
    unsupported(svc.fetch_foreign_content("team", "a").await.map(drop));
    unsupported(
        svc.repair_namespace_contamination(Some("team"), true)
            .await
            .map(drop),
    );
    // The instance is still alive: the sync calls of 0.1.0 work.
    svc.mark_dirty(&swamp_host::SyncOptions::default())
        .await
        .unwrap();
    svc.push_changed(&swamp_host::SyncOptions::default())
        .await
        .unwrap();
}
