//! Which failures are worth another attempt, and how long to wait.

use std::time::Duration;

use swamp_datastore_sdk::nonce::random_below;

/// Attempts per request (as the original: 3).
pub const ATTEMPTS: u32 = 3;
/// First backoff; then ×3 (0.5 s, 1.5 s), each ±25 %.
pub const BASE_DELAY_MS: u64 = 500;

/// S3 error codes that mean "slow down / try again" whatever the status.
const RETRYABLE_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
];

/// Is an HTTP answer retryable? 5xx, 429 and throttling codes are; every
/// other 4xx (403, 404, 409, 412, ...) is not.
pub fn retryable_status(status: u16, code: &str) -> bool {
    status >= 500 || status == 429 || RETRYABLE_CODES.contains(&code)
}

/// `base × 3^attempt`, ±25 % jitter. `attempt` counts from 0.
pub fn backoff(attempt: u32) -> Duration {
    jitter(BASE_DELAY_MS.saturating_mul(3u64.saturating_pow(attempt)))
}

/// `ms` ±25 %.
pub fn jitter(ms: u64) -> Duration {
    let spread = ms / 2; // the full width of ±25 %
    let low = ms - ms / 4;
    Duration::from_millis(low + random_below(spread + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        for s in [500, 502, 503, 504, 429] {
            assert!(retryable_status(s, ""), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412] {
            assert!(!retryable_status(s, ""), "{s}");
        }
        assert!(retryable_status(400, "RequestTimeout"));
        assert!(retryable_status(400, "SlowDown"));
    }

    #[test]
    fn backoff_grows_and_jitters_within_a_quarter() {
        for _ in 0..50 {
            let a = backoff(0).as_millis() as u64;
            let b = backoff(1).as_millis() as u64;
            assert!((375..=625).contains(&a), "{a}");
            assert!((1125..=1875).contains(&b), "{b}");
        }
    }
}
