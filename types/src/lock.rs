//! Records of `wit/lock.wit` with swamp's lock defaults, and the lock
//! info of `wit/types.wit`.

use serde::{Deserialize, Serialize};

/// Lock options as the caller gives them; `None` means swamp's default.
/// From JSON as swamp's `LockOptions` (camelCase, every field optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockOptions {
    /// Backend-specific key; default [`LockOptions::DEFAULT_KEY`].
    pub lock_key: Option<String>,
    /// Lease length before the lock counts as stale.
    pub ttl_ms: Option<u64>,
    /// Pause between attempts while the lock is held.
    pub retry_interval_ms: Option<u64>,
    /// Longest time acquire may wait.
    pub max_wait_ms: Option<u64>,
}

impl LockOptions {
    /// The global lock key.
    pub const DEFAULT_KEY: &'static str = ".datastore.lock";
    /// Default lease, as in swamp: 30 s.
    pub const DEFAULT_TTL_MS: u64 = 30_000;
    /// Default pause between attempts: 1 s.
    pub const DEFAULT_RETRY_INTERVAL_MS: u64 = 1_000;
    /// Default longest wait: 60 s.
    pub const DEFAULT_MAX_WAIT_MS: u64 = 60_000;

    /// Options for the lock `key`, the rest default.
    pub fn with_key(key: impl Into<String>) -> Self {
        Self {
            lock_key: Some(key.into()),
            ..Self::default()
        }
    }

    /// These options with a lease of `ms`.
    pub fn ttl_ms(mut self, ms: u64) -> Self {
        self.ttl_ms = Some(ms);
        self
    }

    /// These options with a pause of `ms` between attempts.
    pub fn retry_interval_ms(mut self, ms: u64) -> Self {
        self.retry_interval_ms = Some(ms);
        self
    }

    /// These options with a longest wait of `ms`.
    pub fn max_wait_ms(mut self, ms: u64) -> Self {
        self.max_wait_ms = Some(ms);
        self
    }

    /// The key, or the global default.
    pub fn key(&self) -> &str {
        self.lock_key.as_deref().unwrap_or(Self::DEFAULT_KEY)
    }

    /// The TTL, or the default; a zero TTL would make every lock stale at
    /// once, so it is raised to 1 ms.
    pub fn ttl(&self) -> u64 {
        self.ttl_ms.unwrap_or(Self::DEFAULT_TTL_MS).max(1)
    }

    /// The retry interval, or the default.
    pub fn retry_interval(&self) -> u64 {
        self.retry_interval_ms
            .unwrap_or(Self::DEFAULT_RETRY_INTERVAL_MS)
    }

    /// The longest wait, or the default.
    pub fn max_wait(&self) -> u64 {
        self.max_wait_ms.unwrap_or(Self::DEFAULT_MAX_WAIT_MS)
    }
}

/// Who holds a lock and until when: the JSON body of every lock file or
/// lock object. Field order is the serialised key order (`holder,
/// hostname, pid, acquiredAt, ttlMs, nonce`), byte for byte as swamp
/// writes it, so mixed clients read each other's locks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockInfo {
    /// `"{user}@{hostname}"`.
    pub holder: String,
    /// Machine name of the holder.
    pub hostname: String,
    /// Process id of the holder on its machine.
    pub pid: u32,
    /// ISO-8601 time of the acquire or last heartbeat.
    pub acquired_at: String,
    /// Lease length; stale once exceeded.
    pub ttl_ms: u64,
    /// Fencing token; absent only in legacy locks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl LockInfo {
    /// Pretty JSON, two-space indent, no trailing newline: swamp's bytes.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_swamps_and_a_zero_ttl_is_raised() {
        let d = LockOptions::default();
        assert_eq!(d.key(), ".datastore.lock");
        assert_eq!(
            (d.ttl(), d.retry_interval(), d.max_wait()),
            (30_000, 1_000, 60_000)
        );
        let o = LockOptions::with_key("k")
            .ttl_ms(0)
            .retry_interval_ms(5)
            .max_wait_ms(7);
        assert_eq!(
            (o.key(), o.ttl(), o.retry_interval(), o.max_wait()),
            ("k", 1, 5, 7)
        );
    }

    #[test]
    fn a_lock_body_is_swamps_json_and_a_legacy_one_reads() {
        let info = LockInfo {
            holder: "ann@box".into(),
            hostname: "box".into(),
            pid: 4242,
            acquired_at: "2026-01-02T03:04:05.678Z".into(),
            ttl_ms: 30000,
            nonce: None,
        };
        assert_eq!(
            info.to_json(),
            "{\n  \"holder\": \"ann@box\",\n  \"hostname\": \"box\",\n  \"pid\": 4242,\n  \"acquiredAt\": \"2026-01-02T03:04:05.678Z\",\n  \"ttlMs\": 30000\n}"
        );
        let back: LockInfo = serde_json::from_str(&info.to_json()).unwrap();
        assert_eq!(back, info);
    }
}
