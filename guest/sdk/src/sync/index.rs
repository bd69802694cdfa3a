//! The monolithic index `.datastore-index.json`, in swamp's format:
//! `{"version":1,"lastPulled":ISO,"entries":{rel:{key,size,lastModified,
//! localMtime?,sha256?}}}`. Remote copies are compact JSON; local copies
//! are pretty-printed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::iso_time;
use crate::rel_path::RelPath;
use crate::sync::rules;

/// One file in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// The bare rel (no prefix, no namespace).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ISO time of the upload (or of the object, for discovered entries).
    #[serde(default)]
    pub last_modified: String,
    /// Local file mtime (ISO) on the machine that recorded the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_mtime: Option<String>,
    /// Lowercase hex SHA-256 of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl IndexEntry {
    /// True when both entries certainly describe the same content: equal
    /// hashes, or — for legacy entries without one — equal size and time.
    pub fn same_content(&self, other: &IndexEntry) -> bool {
        match (&self.sha256, &other.sha256) {
            (Some(a), Some(b)) => a == b,
            _ => self.size == other.size && self.last_modified == other.last_modified,
        }
    }
}

/// About what one entry takes in compact JSON (a swamp data path, its
/// size, an ISO time and a SHA-256: about 210 bytes in `make bench`).
const COMPACT_BYTES_PER_ENTRY: usize = 256;

/// A whole index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 1 for the monolith.
    pub version: u32,
    /// ISO time of the last write.
    #[serde(default)]
    pub last_pulled: String,
    /// Entries by bare rel.
    #[serde(default, deserialize_with = "entries_in_bulk")]
    pub entries: BTreeMap<String, IndexEntry>,
    /// Local base only (never in a remote index): the file changes a pull
    /// is about to make — `Some(entry)`: a download to be renamed into
    /// place; `None`: a local deletion — recorded first so a process killed
    /// before the base update can tell which of them happened (see
    /// `settle_pending` in `engine/pull.rs`). Omitted when empty, so
    /// swamp's own reader sees its usual format.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, Option<IndexEntry>>,
    /// Local base only: what of the base on disk this index was read from
    /// (`sync::base`), so that writing it back touches only what changed.
    #[serde(skip)]
    pub(crate) loaded: crate::sync::base::Loaded,
}

/// Entries read into a list and built into the map in one pass: the
/// writers' JSON lists them in key order, which `BTreeMap::from_iter`
/// turns into a tree without a search per key (inserting them one by one
/// was the largest single cost of reading a 10,000-entry index). A key
/// given twice keeps its last value, as inserting would.
pub(crate) fn entries_in_bulk<'de, D>(
    d: D,
) -> std::result::Result<BTreeMap<String, IndexEntry>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = BTreeMap<String, IndexEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of index entries")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut list = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(pair) = map.next_entry::<String, IndexEntry>()? {
                list.push(pair);
            }
            Ok(BTreeMap::from_iter(list))
        }
    }
    d.deserialize_map(Entries)
}

/// Drop journal items ([`Index::pending`]) whose key is not a safe
/// relative path or must never sync: the pull acts on them.
pub fn scrub_pending(pending: &mut BTreeMap<String, Option<IndexEntry>>) {
    pending.retain(|rel, _| RelPath::is_normal(rel) && !rules::is_never_synced(rel));
}

/// Drop entries that must never sync or whose key is not a safe relative
/// path ("zombies", docs/contract.md §5.2), and make every entry's `key`
/// its rel.
/// Returns how many were dropped.
pub fn scrub(entries: &mut BTreeMap<String, IndexEntry>) -> usize {
    let before = entries.len();
    entries.retain(|rel, e| keep_entry(rel, e));
    before - entries.len()
}

/// [`scrub`] of one entry listed under `rel`: false when it is dropped;
/// else its `key` is made `rel`. For readers that see one entry at a time
/// (`engine/monolith_file.rs`).
pub fn keep_entry(rel: &str, e: &mut IndexEntry) -> bool {
    let safe = RelPath::is_normal(rel);
    if safe && e.key != rel {
        e.key = rel.to_string();
    }
    safe && !rules::is_never_synced(rel)
}

impl Default for Index {
    fn default() -> Self {
        Index {
            version: 1,
            last_pulled: String::new(),
            entries: BTreeMap::new(),
            pending: BTreeMap::new(),
            loaded: Default::default(),
        }
    }
}

impl Index {
    /// Parse an index read from `source`. Unparseable text or an unknown
    /// version is `corrupt-data` (never "empty": a push would then wipe
    /// other writers' entries). Entries that must never sync, or whose key
    /// is not a safe relative path, are scrubbed; the count is returned so
    /// the caller can write the cleaned index back.
    pub fn parse(bytes: &[u8], source: &str) -> Result<(Index, usize)> {
        let mut idx: Index = serde_json::from_slice(bytes).map_err(|e| {
            Error::CorruptData(format!(
                "index {source} is not valid index JSON ({e}); it was left untouched"
            ))
        })?;
        if idx.version != 1 {
            return Err(Error::CorruptData(format!(
                "index {source} has unsupported version {}; it was left untouched",
                idx.version
            )));
        }
        let scrubbed = scrub(&mut idx.entries);
        scrub_pending(&mut idx.pending);
        Ok((idx, scrubbed))
    }

    /// Compact JSON (the remote form), stamping `lastPulled`.
    pub fn to_compact(&mut self) -> Vec<u8> {
        self.last_pulled = iso_time::now_millis();
        // Sized up front: grown by doubling, a 2 MiB monolith was copied
        // about twice over on the way (`make bench`, figure h).
        let mut out = Vec::with_capacity(COMPACT_BYTES_PER_ENTRY * (self.entries.len() + 1));
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }

    /// Pretty JSON (the local form), stamping `lastPulled`.
    pub fn to_pretty(&mut self) -> Vec<u8> {
        self.last_pulled = iso_time::now_millis();
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Entries equal to or below `dir`.
    pub fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a IndexEntry> + 'a {
        self.entries
            .range(dir.to_string()..)
            .take_while(move |(k, _)| k.starts_with(dir))
            .filter(move |(k, _)| crate::rel_path::is_within(k, dir))
            .map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: &str, sha: Option<&str>) -> IndexEntry {
        IndexEntry {
            key: k.into(),
            size: 3,
            last_modified: "2026-01-01T00:00:00.000Z".into(),
            local_mtime: None,
            sha256: sha.map(Into::into),
        }
    }

    #[test]
    fn parses_swamp_json_and_scrubs_zombies() {
        let text = r#"{"version":1,"lastPulled":"2026-01-01T00:00:00.000Z","entries":{
            "data/a/b/c/raw":{"key":"data/a/b/c/raw","size":3,"lastModified":"2026-01-01T00:00:00.000Z","sha256":"ab"},
            "legacy":{"key":"legacy","size":1,"lastModified":"x","localMtime":"y"},
            ".datastore.lock":{"key":".datastore.lock","size":1,"lastModified":"x"},
            "../escape":{"key":"../escape","size":1,"lastModified":"x"},
            "a//b":{"key":"a//b","size":1,"lastModified":"x"}
        }}"#;
        let (idx, scrubbed) = Index::parse(text.as_bytes(), "s").unwrap();
        assert_eq!(scrubbed, 3);
        assert_eq!(idx.entries.len(), 2);
        assert_eq!(idx.entries["legacy"].local_mtime.as_deref(), Some("y"));
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value_and_order_does_not_matter() {
        let text = r#"{"version":1,"entries":{
            "b":{"key":"b","size":1,"lastModified":"x"},
            "a":{"key":"a","size":2,"lastModified":"x"},
            "b":{"key":"b","size":3,"lastModified":"x"}
        }}"#;
        let (idx, _) = Index::parse(text.as_bytes(), "s").unwrap();
        let sizes: Vec<(&str, u64)> = idx
            .entries
            .iter()
            .map(|(k, e)| (k.as_str(), e.size))
            .collect();
        assert_eq!(sizes, [("a", 2), ("b", 3)]);
    }

    #[test]
    fn corrupt_or_unknown_version_is_an_error_naming_the_source() {
        for bad in [&b"{"[..], b"[]", br#"{"version":2,"entries":{}}"#] {
            match Index::parse(bad, "/share/.datastore-index.json") {
                Err(Error::CorruptData(m)) => assert!(m.contains("/share/.datastore-index.json")),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn serialises_in_swamp_shape() {
        let mut idx = Index::default();
        idx.entries.insert("a".into(), entry("a", Some("ff")));
        let v: serde_json::Value = serde_json::from_slice(&idx.to_compact()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["entries"]["a"]["sha256"], "ff");
        assert!(v["entries"]["a"].get("localMtime").is_none());
        assert!(v["lastPulled"].as_str().unwrap().ends_with('Z'));
        let pretty = String::from_utf8(idx.to_pretty()).unwrap();
        assert!(pretty.contains("\n  \"version\": 1"));
    }

    #[test]
    fn same_content_prefers_hashes() {
        let a = entry("a", Some("1"));
        let mut b = entry("a", Some("2"));
        assert!(!a.same_content(&b));
        b.sha256 = None;
        assert!(a.same_content(&b)); // legacy: size + time
    }

    #[test]
    fn under_selects_a_subtree() {
        let mut idx = Index::default();
        for k in ["d/a", "d/a/x", "d/a/y", "d/ab", "d/b"] {
            idx.entries.insert(k.into(), entry(k, None));
        }
        let keys: Vec<_> = idx.under("d/a").map(|e| e.key.as_str()).collect();
        assert_eq!(keys, vec!["d/a", "d/a/x", "d/a/y"]);
    }
}
