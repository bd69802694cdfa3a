//! `memcmp` for the guest, eight bytes at a time.
//!
//! Every comparison of strings or byte slices in a component ends in libc's
//! `memcmp`, and wasi-libc's compares one byte per loop turn. Index keys
//! are long paths sharing long prefixes (`data/{type}/{model}/...`), so
//! the ordered maps of the sync engine spent most of their time there: in
//! a profile of a push and a pull after one edit at 10,000 entries
//! (`bench/sync-compare/examples/profile_sync.rs`), 46 % of all samples
//! were in that one function. Defining the symbol in the component makes
//! the linker take this one instead of the C library's. No crate provides
//! a `memcmp` for `wasm32-wasip2`, so it is written here, in the way
//! word-at-a-time implementations usually are.

/// The sign of the first differing byte of `a[..n]` and `b[..n]`, as
/// unsigned bytes; 0 when equal.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
pub unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, and both are readable for n bytes.
        let (x, y) = unsafe {
            (
                a.add(i).cast::<u64>().read_unaligned(),
                b.add(i).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // Read big-endian, the first byte in memory is the most
            // significant: the words order as their bytes do.
            return if u64::from_be(x) < u64::from_be(y) {
                -1
            } else {
                1
            };
        }
        i += 8;
    }
    while i < n {
        // SAFETY: i < n.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// The C library's entry point, inside a component only.
///
/// # Safety
/// As [`compare`].
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller's contract is memcmp's, which is `compare`'s.
    unsafe { compare(a, b, n) }
}

#[cfg(test)]
mod tests {
    use super::compare;

    fn sign(x: i32) -> i32 {
        x.signum()
    }

    fn check(a: &[u8], b: &[u8]) {
        let n = a.len().min(b.len());
        // SAFETY: both slices hold at least n bytes.
        let got = unsafe { compare(a.as_ptr(), b.as_ptr(), n) };
        let want = match a[..n].cmp(&b[..n]) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        };
        assert_eq!(sign(got), want, "{a:?} vs {b:?}");
    }

    #[test]
    fn orders_as_unsigned_bytes_at_every_length_and_position() {
        for n in 0..40usize {
            let base: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            check(&base, &base);
            for pos in 0..n {
                for delta in [1u8, 0x7f, 0x80, 0xff] {
                    let mut other = base.clone();
                    other[pos] = other[pos].wrapping_add(delta);
                    check(&base, &other);
                    check(&other, &base);
                    // A later difference never outweighs an earlier one.
                    if pos + 1 < n {
                        let mut later = other.clone();
                        later[pos + 1] = later[pos + 1].wrapping_sub(delta);
                        check(&base, &later);
                    }
                }
            }
        }
    }

    #[test]
    fn long_shared_prefixes_like_index_keys() {
        let a = b"data/bench/model-023/v1/file-045.bin";
        let b = b"data/bench/model-023/v1/file-046.bin";
        check(a, b);
        check(b, a);
        check(a, a);
        check(b"\x00\xff", b"\x00\x01");
    }
}
