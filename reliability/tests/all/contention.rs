//! Lock contention on both backends, small enough for `make test`
//! (`make stress` runs 8 × 500).

use std::sync::Arc;

use reliability::Remote;
use reliability::contention::{self, ContentionConfig};
use seaweedfs_fixture::SeaweedFs;

fn check(remote: &Remote, workers: usize, sections: usize) {
    let report = contention::run(remote, &ContentionConfig::new(workers, sections)).unwrap();
    eprintln!("{report:?}");
    let n = (workers * sections) as u64;
    assert_eq!(report.total_sections, n);
    assert_eq!(report.overlaps, 0, "two holders at once: {report:?}");
    assert_eq!(report.final_count, n, "lost updates: {report:?}");
    assert_eq!(report.lost_locks, 0, "{report:?}");
}

#[test]
fn fs_four_threads_twenty_sections_each_never_overlap() {
    check(&Remote::fs().unwrap(), 4, 20);
}

#[test]
fn s3_four_threads_twenty_sections_each_never_overlap() {
    let s3 = Arc::new(SeaweedFs::start());
    check(&Remote::s3(s3, "contention", "t").unwrap(), 4, 20);
}

/// The control: the same sections without the lock do overlap and lose
/// updates, so the two detectors above can see a broken lock.
#[test]
fn without_the_lock_the_detectors_see_overlaps_and_lost_updates() {
    let remote = Remote::fs().unwrap();
    let cfg = ContentionConfig {
        locked: false,
        hold: std::time::Duration::from_millis(3),
        ..ContentionConfig::new(4, 20)
    };
    let report = contention::run(&remote, &cfg).unwrap();
    eprintln!("{report:?}");
    assert!(report.overlaps > 0, "{report:?}");
    assert!(report.final_count < 80, "{report:?}");
}
