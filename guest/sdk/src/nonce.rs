//! Random tokens: lock nonces, probe names, temporary file names. Backed by
//! `uuid` v4 (getrandom reads wasi:random inside the guest).

/// A fresh random UUID v4 in its hyphenated lowercase form.
pub fn new_nonce() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random number in `0..bound` (for retry jitter); 0 when `bound` is 0.
pub fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    let n = uuid::Uuid::new_v4().as_u128() as u64;
    n % bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_v4_and_distinct() {
        let a = new_nonce();
        let b = new_nonce();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn random_below_stays_in_range() {
        assert_eq!(random_below(0), 0);
        for _ in 0..100 {
            assert!(random_below(7) < 7);
        }
    }
}
