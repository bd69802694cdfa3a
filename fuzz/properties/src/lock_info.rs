//! The lock body every lock file and lock object holds (`LockInfo`).

use swamp_datastore_sdk::LockInfoExt;
use swamp_datastore_sdk::{Error, LockInfo, iso_time};
use time::Duration;

const SOURCE: &str = "/share/.datastore.lock";

/// The `lock_info` target.
pub fn lock_info(data: &[u8]) {
    let info = match LockInfo::parse(data, SOURCE) {
        Ok(info) => info,
        Err(Error::CorruptData(m)) => {
            assert!(m.contains(SOURCE), "message names no source: {m}");
            return;
        }
        Err(other) => panic!("a bad lock must be corrupt-data, got {other:?}"),
    };
    let at = iso_time::parse(&info.acquired_at).expect("an accepted lock has a readable time");
    // What we write reads back identical, in swamp's key order.
    let json = info.to_json();
    assert!(json.starts_with("{\n  \"holder\": "), "{json}");
    assert_eq!(
        LockInfo::parse(json.as_bytes(), SOURCE).expect("own lock"),
        info
    );
    // The lease: fresh at acquire and through `ttlMs`, stale one ms later;
    // a holder's clock ahead of ours never makes it stale.
    assert_eq!(info.age_ms(at), 0);
    assert!(!info.is_stale(at));
    let ttl = Duration::milliseconds(i64::try_from(info.ttl_ms).unwrap_or(i64::MAX));
    if let Some(end) = at.checked_add(ttl) {
        assert!(!info.is_stale(end), "stale before its ttl ran out");
        if let Some(after) = end.checked_add(Duration::milliseconds(1)) {
            assert!(info.is_stale(after), "not stale after its ttl");
        }
    }
    if let Some(before) = at.checked_sub(Duration::hours(1)) {
        assert!(!info.is_stale(before));
    }
}
