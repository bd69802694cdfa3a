//! Crash consistency of fs-datastore: push, pull and hydrate killed with
//! SIGKILL at random points (`make stress` kills more often).

use crate::support;

#[test]
fn fs_killed_push_pull_and_hydrate_leave_no_torn_file_and_converge() {
    support::check(&reliability::Remote::fs().unwrap(), 0x5eed_0001, 10);
}
