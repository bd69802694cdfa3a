//! Self-verifying file content for the crash scenario. Every file is one
//! header line naming its rel path, its generation, its payload length and
//! the payload's SHA-256, then the payload: a file cut short, or a mix of
//! two versions, or a file copied to the wrong place, fails [`verify`].

use sha2::{Digest, Sha256};

/// The fixed tree: `files` rel paths, two thirds lazily hydrated content
/// (`data/**/raw`), one third metadata (`definitions/*.yaml`).
pub fn tree(files: usize) -> Vec<String> {
    (0..files)
        .map(|i| {
            if i % 3 == 2 {
                format!("definitions/m{i}.yaml")
            } else {
                format!("data/t/m{i}/1/raw")
            }
        })
        .collect()
}

/// Payload sizes: 1 KiB to 192 KiB, so transfers take long enough to be
/// killed in the middle of.
fn payload_len(rng: &mut fastrand::Rng) -> usize {
    1024 + rng.usize(0..192 * 1024)
}

fn seed_of(rel: &str, generation: u64) -> u64 {
    let d = Sha256::digest(format!("{rel}\n{generation}").as_bytes());
    u64::from_le_bytes(d[..8].try_into().unwrap_or_default())
}

/// The content of generation `generation` of `rel` (deterministic).
pub fn make(rel: &str, generation: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed_of(rel, generation));
    let len = payload_len(&mut rng);
    let mut payload = vec![0u8; len];
    rng.fill(&mut payload);
    let sha = hex::encode(Sha256::digest(&payload));
    let mut out =
        format!("swamp-reliability {rel} gen={generation} len={len} sha256={sha}\n").into_bytes();
    out.extend_from_slice(&payload);
    out
}

/// The generation `bytes` hold if they are a complete, valid file for
/// `rel`; otherwise why not.
pub fn verify(rel: &str, bytes: &[u8]) -> Result<u64, String> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| format!("{rel}: no header line ({} bytes)", bytes.len()))?;
    let header =
        std::str::from_utf8(&bytes[..nl]).map_err(|_| format!("{rel}: header is not UTF-8"))?;
    let payload = &bytes[nl + 1..];
    let f: Vec<&str> = header.split(' ').collect();
    let field = |i: usize, name: &str| -> Result<&str, String> {
        f.get(i)
            .and_then(|s| s.strip_prefix(name))
            .ok_or_else(|| format!("{rel}: malformed header {header:?}"))
    };
    if f.first() != Some(&"swamp-reliability") || f.get(1) != Some(&rel) {
        return Err(format!("{rel}: header {header:?} names another file"));
    }
    let generation: u64 = field(2, "gen=")?
        .parse()
        .map_err(|_| format!("{rel}: bad generation in {header:?}"))?;
    let len: usize = field(3, "len=")?
        .parse()
        .map_err(|_| format!("{rel}: bad length in {header:?}"))?;
    if payload.len() != len {
        return Err(format!(
            "{rel}: torn: payload is {} bytes, the header says {len}",
            payload.len()
        ));
    }
    if hex::encode(Sha256::digest(payload)) != field(4, "sha256=")? {
        return Err(format!("{rel}: payload does not match its SHA-256"));
    }
    Ok(generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_content_verifies_and_damage_is_caught() {
        let rel = "data/t/m0/1/raw";
        let a = make(rel, 3);
        assert_eq!(make(rel, 3), a, "deterministic");
        assert_eq!(verify(rel, &a), Ok(3));
        assert!(verify(rel, &a[..a.len() - 1]).unwrap_err().contains("torn"));
        assert!(verify("data/t/m1/1/raw", &a).is_err(), "wrong place");
        let mut flipped = a.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(verify(rel, &flipped).is_err());
        // A mix: the header of one generation, the payload of another.
        let b = make(rel, 4);
        let nl = |v: &[u8]| v.iter().position(|&c| c == b'\n').unwrap();
        let mut mixed = a[..=nl(&a)].to_vec();
        mixed.extend_from_slice(&b[nl(&b) + 1..]);
        assert!(verify(rel, &mixed).is_err());
        assert_eq!(tree(3)[2], "definitions/m2.yaml");
    }
}
