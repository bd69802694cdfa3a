//! Crash consistency of s3-datastore on SeaweedFS: push, pull and hydrate
//! killed with SIGKILL at random points (`make stress` kills more often).

use crate::support;

use std::sync::Arc;

#[test]
fn s3_killed_push_pull_and_hydrate_leave_no_torn_file_and_converge() {
    let s3 = Arc::new(seaweedfs_fixture::SeaweedFs::start());
    let remote = reliability::Remote::s3(s3, "crash", "c").unwrap();
    support::check(&remote, 0x5eed_0002, 8);
}
