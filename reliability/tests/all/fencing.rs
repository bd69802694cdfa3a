//! Pauses and fencing on both backends.

use std::sync::Arc;

use reliability::{Remote, fencing};
use seaweedfs_fixture::SeaweedFs;

#[tokio::test(flavor = "multi_thread")]
async fn fs_a_frozen_holder_is_taken_over_and_fenced() {
    let report = fencing::run(&Remote::fs().unwrap(), 1_000).await.unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.heartbeat_error_kind, "lock-lost");
    assert!(report.takeover_after_ms >= 1_000.0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_frozen_holder_is_taken_over_and_fenced() {
    let s3 = Arc::new(SeaweedFs::start());
    let remote = Remote::s3(s3, "fencing", "f").unwrap();
    let report = fencing::run(&remote, 1_500).await.unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.heartbeat_error_kind, "lock-lost");
    assert!(report.takeover_after_ms >= 1_000.0, "{report:?}");
}
