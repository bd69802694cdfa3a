//! Generated file trees for the sync checks: sizes across the boundaries
//! where reads, writes and uploads get split, names of the kinds a file
//! system and an S3 key both carry, nesting from flat to deep. A tree is a
//! pure function of its seed, so a failing run is replayed with the seed
//! it printed (`check --seed N`).

use std::collections::BTreeMap;

/// A small, fast, seedable generator (xorshift64*): the trees need
/// variety and replayability, not cryptographic quality.
pub struct Rng(u64);

impl Rng {
    /// A generator whose output is fixed by `seed`; any seed works,
    /// zero included.
    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }
    /// The next pseudo-random 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// One element of `items`, chosen at random; panics when `items` is
    /// empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Sizes every tree has: empty, one byte, and one either side of the
/// usual buffer sizes (4 KiB pages, 64 KiB read buffers, 1 MiB), of 8 MiB
/// (a common multipart part) and of 16 MiB (a common multipart threshold).
pub const BOUNDARY_SIZES: [u64; 12] = [
    0,
    1,
    4 * KIB - 1,
    4 * KIB + 1,
    64 * KIB - 1,
    64 * KIB,
    64 * KIB + 1,
    MIB - 1,
    MIB + 1,
    8 * MIB + 1,
    16 * MIB - 1,
    16 * MIB + 1,
];

/// Path segments of the kinds both a POSIX file system and S3 carry:
/// spaces, punctuation that URLs and shells treat specially, non-ASCII
/// letters, a leading dash or dot, a long name. Never `/`, NUL, a
/// backslash or a control character (refused by the rel-path rules), and
/// no name an engine keeps for itself (`.lock`, `_index`, `.datastore-*`).
pub const NAMES: [&str; 24] = [
    "plain",
    "with space",
    "trailing space ",
    "dots.in.the.name",
    "-leading-dash",
    ".hidden",
    "percent%20not-an-escape",
    "plus+equals=",
    "hash#and?question",
    "amp&semi;colon:",
    "quote'double\"",
    "brackets[](){}",
    "at@tilde~caret^",
    "dollar$bang!star*",
    "comma,and<angle>",
    "pipe|backtick`",
    "café",
    "日本語のファイル",
    "emoji-🦎",
    "Ωmega-ß-ø",
    "UPPER-lower",
    "0",
    "x",
    "a-name-of-one-hundred-and-eighty-characters-that-some-clients-cut-short-or-fail-to-encode-correctly-when-they-build-a-request-line-out-of-it-and-some-servers-refuse-0123456789-abc",
];

/// Longest rel-path generated, in bytes (S3 keys stop at 1024).
pub const MAX_REL_BYTES: usize = 800;

/// The tree for `seed`: every boundary size once and `extra` files more,
/// each at a random depth (0 to 11 directories) under `root`, with
/// content that is a function of seed and path. The paths are distinct.
pub fn generate(seed: u64, root: &str, extra: usize) -> BTreeMap<String, Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut tree = BTreeMap::new();
    let sizes: Vec<u64> = BOUNDARY_SIZES
        .iter()
        .copied()
        .chain((0..extra).map(|_| match rng.below(4) {
            0 => rng.below(64),
            1 => rng.below(8 * KIB),
            2 => rng.below(256 * KIB),
            _ => rng.below(3 * MIB),
        }))
        .collect();
    for (i, size) in sizes.into_iter().enumerate() {
        let depth = rng.below(12) as usize;
        let mut segments: Vec<String> = (0..depth).map(|_| rng.pick(&NAMES).to_string()).collect();
        // The file name: a name of the list, made unique by its number.
        segments.push(format!("{} {i}", rng.pick(&NAMES)));
        // S3 keys stop at 1024 bytes; leave room for a prefix.
        while segments.len() > 1
            && root.len() + segments.iter().map(|s| s.len() + 1).sum::<usize>() > MAX_REL_BYTES
        {
            segments.remove(0);
        }
        let rel = format!("{root}/{}", segments.join("/"));
        tree.insert(rel, content(&mut Rng::new(seed ^ (i as u64) << 20), size));
    }
    tree
}

fn content(rng: &mut Rng, size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size as usize);
    while (out.len() as u64) < size {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(size as usize);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_a_function_of_its_seed() {
        assert_eq!(generate(7, "r", 5), generate(7, "r", 5));
        assert_ne!(generate(7, "r", 5), generate(8, "r", 5));
    }

    #[test]
    fn every_boundary_size_and_a_spread_of_depths_and_names() {
        let tree = generate(42, "data/t/m", 30);
        assert_eq!(tree.len(), BOUNDARY_SIZES.len() + 30);
        for size in BOUNDARY_SIZES {
            assert!(tree.values().any(|b| b.len() as u64 == size), "{size}");
        }
        let depths: std::collections::BTreeSet<usize> =
            tree.keys().map(|k| k.split('/').count()).collect();
        assert!(depths.len() >= 6, "{depths:?}");
        for rel in tree.keys() {
            assert!(!rel.contains('\\') && !rel.contains('\0'), "{rel}");
            assert!(
                swamp_datastore_sdk::RelPath::parse(rel, "rel-path").is_ok(),
                "{rel:?} must be a valid rel-path"
            );
            assert!(rel.len() <= MAX_REL_BYTES, "{rel}");
        }
    }
}
