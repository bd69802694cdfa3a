//! Which partition file of the base an entry is stored in: the file stem
//! of its partition key (`shards::shard_of`, swamp's partition function),
//! hashed when the key would not make a safe file name, and a digest of
//! each partition's entries keyed the same way. Kept apart because
//! reading, writing and the pull's comparison with the remote index all
//! key partitions by it.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::sync::base_summary::digest_entries;
use crate::sync::index::IndexEntry;
use crate::sync::shards;

/// Longest partition key kept as its own file name (file names stop at
/// 255 bytes; keys are rel segments joined by `--`).
const MAX_PLAIN_KEY: usize = 200;

/// The file stem of the partition holding `rel`.
pub(crate) fn stem_of_rel(rel: &str) -> String {
    stem_of(&shards::shard_of(rel))
}

/// The digest of the entries of each partition (by file stem) of
/// `entries`, as [`Summary`] records them for the base.
///
/// [`Summary`]: crate::sync::base_summary::Summary
pub fn digests_by_stem(entries: &BTreeMap<String, IndexEntry>) -> BTreeMap<String, Option<u64>> {
    let mut groups: BTreeMap<String, Vec<(&String, &IndexEntry)>> = BTreeMap::new();
    for (rel, e) in entries {
        groups.entry(stem_of_rel(rel)).or_default().push((rel, e));
    }
    groups
        .into_iter()
        .map(|(stem, mut list)| {
            // Keys of one stem arrive in key order already, except those
            // of hashed stems (several partitions share none: still sort).
            list.sort_by(|a, b| a.0.cmp(b.0));
            (stem, digest_entries(list))
        })
        .collect()
}

/// The file stem a partition is stored under.
pub(crate) fn stem_of(pk: &str) -> String {
    if pk.len() <= MAX_PLAIN_KEY && !pk.starts_with('.') && !pk.starts_with("_h") {
        pk.to_string()
    } else {
        let h = hex::encode(Sha256::digest(pk.as_bytes()));
        format!("_h{}", &h[..32])
    }
}
