//! What a guest does with the JSON body of every lock file or lock object
//! ([`LockInfo`], a record of the WIT shared with the host): make one for
//! this holder, read one back strictly, and tell whether its lease ran out.
//! Methods of an extension trait, [`LockInfoExt`], because the record
//! lives in `swamp-datastore-types`.

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::iso_time;
use swamp_datastore_types::HolderIdentity;
pub use swamp_datastore_types::LockInfo;

/// A lock body made, read and judged by a guest.
pub trait LockInfoExt: Sized {
    /// A lock body for `who`, acquired now with `nonce`.
    fn new(who: &HolderIdentity, ttl_ms: u64, nonce: &str) -> Self;
    /// Parse a lock body read from `source` (a file or object name used in
    /// the error). Anything that is not a complete, well-formed lock —
    /// including an unparseable `acquiredAt` — is `corrupt-data`.
    fn parse(bytes: &[u8], source: &str) -> Result<Self>;
    /// Milliseconds since `acquiredAt` at `now` (0 if the holder's clock is
    /// ahead of ours).
    fn age_ms(&self, now: OffsetDateTime) -> u64;
    /// Stale: the lease ran out (`now − acquiredAt > ttlMs`).
    fn is_stale(&self, now: OffsetDateTime) -> bool;
}

impl LockInfoExt for LockInfo {
    fn new(who: &HolderIdentity, ttl_ms: u64, nonce: &str) -> Self {
        LockInfo {
            holder: who.holder(),
            hostname: who.hostname.clone(),
            pid: who.pid,
            acquired_at: iso_time::now_millis(),
            ttl_ms,
            nonce: Some(nonce.to_string()),
        }
    }

    fn parse(bytes: &[u8], source: &str) -> Result<Self> {
        let info: LockInfo = serde_json::from_slice(bytes).map_err(|e| {
            Error::CorruptData(format!(
                "lock {source} is not valid lock JSON ({e}); it was left untouched"
            ))
        })?;
        if iso_time::parse(&info.acquired_at).is_none() {
            return Err(Error::CorruptData(format!(
                "lock {source} has an unreadable acquiredAt {:?}; it was left untouched",
                info.acquired_at
            )));
        }
        Ok(info)
    }

    fn age_ms(&self, now: OffsetDateTime) -> u64 {
        match iso_time::parse(&self.acquired_at) {
            Some(at) => iso_time::millis_between(at, now),
            // `parse` refuses such bodies; a hand-built one counts as ancient.
            None => u64::MAX,
        }
    }

    fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.age_ms(now) > self.ttl_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LockInfo {
        LockInfo {
            holder: "ann@box".into(),
            hostname: "box".into(),
            pid: 4242,
            acquired_at: "2026-01-02T03:04:05.678Z".into(),
            ttl_ms: 30000,
            nonce: Some("0b6d3f5e-1c1f-4a5e-9d47-2b8f8f7d2a10".into()),
        }
    }

    #[test]
    fn serialises_exactly_like_swamp() {
        let expected = "{\n  \"holder\": \"ann@box\",\n  \"hostname\": \"box\",\n  \"pid\": 4242,\n  \"acquiredAt\": \"2026-01-02T03:04:05.678Z\",\n  \"ttlMs\": 30000,\n  \"nonce\": \"0b6d3f5e-1c1f-4a5e-9d47-2b8f8f7d2a10\"\n}";
        assert_eq!(sample().to_json(), expected);
    }

    #[test]
    fn round_trips_and_accepts_legacy_without_nonce() {
        let s = sample();
        assert_eq!(LockInfo::parse(s.to_json().as_bytes(), "f").unwrap(), s);
        let legacy = r#"{"holder":"a@b","hostname":"b","pid":1,"acquiredAt":"2026-01-01T00:00:00Z","ttlMs":5}"#;
        let l = LockInfo::parse(legacy.as_bytes(), "f").unwrap();
        assert_eq!(l.nonce, None);
        assert!(!l.to_json().contains("nonce"));
    }

    #[test]
    fn corrupt_bodies_name_the_source() {
        for bad in [
            &b""[..],
            b"{",
            b"not json",
            br#"{"holder":"a"}"#,
            br#"{"holder":"a@b","hostname":"b","pid":1,"acquiredAt":"soon","ttlMs":5}"#,
        ] {
            match LockInfo::parse(bad, "/d/.datastore.lock") {
                Err(Error::CorruptData(m)) => assert!(m.contains("/d/.datastore.lock"), "{m}"),
                other => panic!("expected corrupt-data, got {other:?}"),
            }
        }
    }

    #[test]
    fn staleness_uses_acquired_at_plus_ttl() {
        let s = sample();
        let at = iso_time::parse(&s.acquired_at).unwrap();
        assert!(!s.is_stale(at + time::Duration::milliseconds(30000)));
        assert!(s.is_stale(at + time::Duration::milliseconds(30001)));
        // A holder clock ahead of ours is never stale.
        assert!(!s.is_stale(at - time::Duration::hours(1)));
    }

    #[test]
    fn new_fills_holder_from_identity() {
        let who = HolderIdentity {
            user: "ann".into(),
            hostname: "box".into(),
            pid: 7,
        };
        let l = LockInfo::new(&who, 1000, "n");
        assert_eq!(l.holder, "ann@box");
        assert_eq!(l.pid, 7);
        assert!(iso_time::parse(&l.acquired_at).is_some());
    }
}
