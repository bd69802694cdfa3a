//! The shard-first index layout of swamp's S3 datastore
//! (docs/contract.md §5.4): `[{ns}/]_index/_meta.json` says which layout is
//! authoritative, and in the v2 ("shard-first") layout the index is split
//! into shard objects `[{ns}/]_index/{partitionKey}.json`, one per
//! partition key.
//!
//! * meta absent or `version: 1` ⇒ the monolith `.datastore-index.json` is
//!   authoritative; v1 writers also keep shards and a v1 meta up to date
//!   ("dual write");
//! * meta `version: 2` ⇒ the shards listed in `partitions` are the index;
//!   `commitSeq` goes up with every change, so a reader that remembers it
//!   can tell "nothing changed" from one small read.
//!
//! This module is pure: formats, names and which shards a path can touch.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sync::index::{self, IndexEntry};
use crate::sync::rules;

/// The shard directory, relative to a root.
pub const INDEX_DIR: &str = "_index";
/// The meta object, relative to a root.
pub const META_FILE: &str = "_index/_meta.json";
/// Shard holding v2 entries that swamp's partition function cannot place
/// (for example `config/…` or `data/a/b`). swamp's own writer drops such
/// entries from shards; keeping them in a shard of their own (which every
/// reader assembles, since readers take all listed shards) loses nothing.
pub const UNPARTITIONED: &str = "_unpartitioned";

/// Largest `commitSeq` a meta may carry: 2^53 − 1, the largest integer
/// swamp's TypeScript client holds exactly.
pub const MAX_COMMIT_SEQ: u64 = (1 << 53) - 1;

/// Key of the shard `pk`, relative to a root.
pub fn shard_file(pk: &str) -> String {
    format!("{INDEX_DIR}/{pk}.json")
}

/// The shard a v2 writer records `rel` in.
pub fn shard_of(rel: &str) -> String {
    rules::partition_key(rel).unwrap_or_else(|| UNPARTITIONED.to_string())
}

/// What a zero-diff check needs of `_meta.json` ([`Meta::head`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaHead {
    /// 1 (dual-write era) or 2 (shard-first).
    pub version: u32,
    /// v2: bumped on every change of any shard.
    pub commit_seq: Option<u64>,
}

impl MetaHead {
    /// True for the shard-first layout.
    pub fn is_v2(&self) -> bool {
        self.version == 2
    }
}

/// `_meta.json`. Read by [`MetaVisitor`], not derived: with the derived
/// reader, `#[serde(flatten)]` buffers every field (the 10,000 partition
/// names of a million-entry index included) before reading them again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// 1 (dual-write era: the monolith is authoritative) or 2 (shard-first).
    pub version: u32,
    /// Partition keys with a shard object (sorted in v2).
    #[serde(default)]
    pub partitions: Vec<String>,
    /// v2: bumped on every change of any shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_seq: Option<u64>,
    /// Fields this implementation does not interpret (`lastCompacted`…),
    /// kept as they were.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Reads a [`Meta`] field by field: the known ones into place, any other
/// into `extra`, each once.
struct MetaVisitor;

impl<'de> serde::de::Visitor<'de> for MetaVisitor {
    type Value = Meta;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a shard meta object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Meta, A::Error> {
        use serde::de::Error as _;
        let mut version: Option<u32> = None;
        let mut partitions: Option<Vec<String>> = None;
        let mut commit_seq: Option<Option<u64>> = None;
        let mut extra = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" if version.is_none() => version = Some(map.next_value()?),
                "partitions" if partitions.is_none() => partitions = Some(map.next_value()?),
                "commitSeq" if commit_seq.is_none() => commit_seq = Some(map.next_value()?),
                "version" | "partitions" | "commitSeq" => {
                    return Err(A::Error::custom(format!("duplicate field `{key}`")));
                }
                _ => {
                    let value = map.next_value()?;
                    extra.insert(key, value);
                }
            }
        }
        Ok(Meta {
            version: version.ok_or_else(|| A::Error::missing_field("version"))?,
            partitions: partitions.unwrap_or_default(),
            commit_seq: commit_seq.flatten(),
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Meta, D::Error> {
        d.deserialize_map(MetaVisitor)
    }
}

fn safe_partition(pk: &str) -> bool {
    !pk.is_empty()
        && pk != "_meta"
        && !pk.bytes().any(|b| matches!(b, b'/' | b'\\' | 0))
        && pk != "."
        && pk != ".."
}

impl Meta {
    /// Parse `_meta.json` read from `source`. Unparseable text, an unknown
    /// version or a partition name that is not a plain file name is
    /// `corrupt-data` (never "no meta": that would demote a v2 index).
    pub fn parse(bytes: &[u8], source: &str) -> Result<Meta> {
        let meta: Meta = serde_json::from_slice(bytes).map_err(|e| {
            Error::CorruptData(format!(
                "shard meta {source} is not valid JSON ({e}); it was left untouched"
            ))
        })?;
        if !matches!(meta.version, 1 | 2) {
            return Err(Error::CorruptData(format!(
                "shard meta {source} has unsupported version {}; it was left untouched",
                meta.version
            )));
        }
        // Caught by the `index` fuzz property: a `commitSeq` of u64::MAX
        // made the next commit overflow (a panic in debug builds, a wrap
        // to 0 in the guest). No writer reaches 2^53 (swamp's TypeScript
        // client cannot even write a larger integer exactly), so a larger
        // one is corrupt.
        if let Some(seq) = meta.commit_seq.filter(|s| *s > MAX_COMMIT_SEQ) {
            return Err(Error::CorruptData(format!(
                "shard meta {source} has commitSeq {seq}, beyond {MAX_COMMIT_SEQ}; it was left untouched"
            )));
        }
        if let Some(bad) = meta.partitions.iter().find(|p| !safe_partition(p)) {
            return Err(Error::CorruptData(format!(
                "shard meta {source} lists an invalid partition {bad:?}; it was left untouched"
            )));
        }
        Ok(meta)
    }

    /// The layout version and `commitSeq` of `_meta.json`, read without
    /// the partition list (which at a million entries holds ten thousand
    /// names: building it, through the flattened unknown fields, was most
    /// of a zero-diff pull, `make bench` figure e). `None` unless the bytes
    /// would pass [`parse`](Self::parse) on these two fields; the caller
    /// then parses whole, which reports what is wrong.
    pub fn head(bytes: &[u8]) -> Option<MetaHead> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            version: u32,
            #[serde(default)]
            commit_seq: Option<u64>,
        }
        let h: Head = serde_json::from_slice(bytes).ok()?;
        (matches!(h.version, 1 | 2) && h.commit_seq.is_none_or(|s| s <= MAX_COMMIT_SEQ)).then_some(
            MetaHead {
                version: h.version,
                commit_seq: h.commit_seq,
            },
        )
    }

    /// The head of this meta.
    pub fn head_of(&self) -> MetaHead {
        MetaHead {
            version: self.version,
            commit_seq: self.commit_seq,
        }
    }

    /// True for the shard-first layout.
    pub fn is_v2(&self) -> bool {
        self.version == 2
    }

    /// A v1 (dual-write) meta listing `partitions`.
    pub fn v1(partitions: impl IntoIterator<Item = String>) -> Meta {
        let set: BTreeSet<String> = partitions.into_iter().collect();
        Meta {
            version: 1,
            partitions: set.into_iter().collect(),
            commit_seq: None,
            extra: Default::default(),
        }
    }

    /// The next v2 meta after a commit that wrote the shards `written`:
    /// partitions are the union (emptied shards stay listed: they are left
    /// as empty objects, never deleted), `commitSeq` goes up by one.
    pub fn next_v2(&self, written: impl IntoIterator<Item = String>) -> Meta {
        let written: Vec<String> = written.into_iter().collect();
        // Usually every shard written is listed already: then the list is
        // kept as it is, not rebuilt (10,000 names at a million entries).
        // A list that is not sorted may miss here; it is then rebuilt.
        let listed = written
            .iter()
            .all(|pk| self.partitions.binary_search(pk).is_ok());
        let partitions = if listed {
            self.partitions.clone()
        } else {
            let mut set: BTreeSet<String> = self.partitions.iter().cloned().collect();
            set.extend(written);
            set.into_iter().collect()
        };
        Meta {
            version: 2,
            partitions,
            commit_seq: Some(self.commit_seq.unwrap_or(0) + 1),
            extra: self.extra.clone(),
        }
    }

    /// Compact JSON (the remote form).
    pub fn to_compact(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One shard object: `{"version":1,"entries":{rel: IndexEntry}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// Always 1.
    pub version: u32,
    /// Entries by bare rel.
    #[serde(default, deserialize_with = "index::entries_in_bulk")]
    pub entries: BTreeMap<String, IndexEntry>,
    /// Fields this implementation does not interpret, kept.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            version: 1,
            entries: BTreeMap::new(),
            extra: Default::default(),
        }
    }
}

impl Shard {
    /// Parse a shard read from `source`; zombies are scrubbed (their count
    /// is returned). Unparseable or unknown version ⇒ `corrupt-data`.
    pub fn parse(bytes: &[u8], source: &str) -> Result<(Shard, usize)> {
        let mut s: Shard = serde_json::from_slice(bytes).map_err(|e| {
            Error::CorruptData(format!(
                "index shard {source} is not valid shard JSON ({e}); it was left untouched"
            ))
        })?;
        if s.version != 1 {
            return Err(Error::CorruptData(format!(
                "index shard {source} has unsupported version {}; it was left untouched",
                s.version
            )));
        }
        let scrubbed = index::scrub(&mut s.entries);
        Ok((s, scrubbed))
    }

    /// Compact JSON (the remote form).
    pub fn to_compact(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The listed shards that may hold `path` itself or any entry below it
/// (for a file, its own shard; for a directory, every shard whose key is
/// compatible with its segments). A superset is harmless: callers filter
/// entries by path afterwards.
pub fn shards_touching<'a>(path: &str, listed: &'a [String]) -> Vec<&'a str> {
    let joined = path.replace('/', "--");
    let single = !path.contains('/');
    // `a` is `b` followed by `--` and more (no allocation per partition: a
    // meta lists 10,000 of them at a million entries).
    let below = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|rest| rest.starts_with("--"));
    listed
        .iter()
        .map(String::as_str)
        .filter(|pk| {
            *pk == UNPARTITIONED
                || (single && *pk == "_root")
                || *pk == joined
                || below(&joined, pk)
                || below(pk, &joined)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_of_a_meta_is_read_without_its_partitions_and_only_when_sound() {
        let m = br#"{"version":2,"partitions":["a","b"],"commitSeq":7,"lastCompacted":"x"}"#;
        assert_eq!(
            Meta::head(m),
            Some(MetaHead {
                version: 2,
                commit_seq: Some(7)
            })
        );
        assert_eq!(
            Meta::parse(m, "m").unwrap().head_of(),
            Meta::head(m).unwrap()
        );
        let v1 = br#"{"version":1,"partitions":["a"]}"#;
        assert_eq!(Meta::head(v1).map(|h| h.is_v2()), Some(false));
        let beyond = format!(
            r#"{{"version":2,"partitions":[],"commitSeq":{}}}"#,
            MAX_COMMIT_SEQ + 1
        );
        for bad in [
            &b"{"[..],
            br#"{"version":3,"partitions":[]}"#,
            br#"{"partitions":[]}"#,
            beyond.as_bytes(),
        ] {
            assert_eq!(Meta::head(bad), None, "{}", String::from_utf8_lossy(bad));
            assert!(Meta::parse(bad, "m").is_err());
        }
    }

    #[test]
    fn meta_formats() {
        let m = Meta::parse(
            br#"{"version":2,"partitions":["_root","data--t--m"],"commitSeq":7,"lastCompacted":"x"}"#,
            "m",
        )
        .unwrap();
        assert!(m.is_v2());
        assert_eq!(m.commit_seq, Some(7));
        let n = m.next_v2(["audit".to_string(), "_root".to_string()]);
        let v: serde_json::Value = serde_json::from_slice(&n.to_compact()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":2,"partitions":["_root","audit","data--t--m"],"commitSeq":8,"lastCompacted":"x"})
        );
        let kept = m.next_v2(["data--t--m".to_string()]);
        assert_eq!(
            (kept.partitions, kept.commit_seq),
            (m.partitions.clone(), Some(8))
        );
        let v1 = Meta::parse(br#"{"version":1,"partitions":["a"]}"#, "m").unwrap();
        assert!(!v1.is_v2());
        // A null commitSeq is none, and absent partitions are none.
        let bare = Meta::parse(br#"{"commitSeq":null,"version":1}"#, "m").unwrap();
        assert_eq!((bare.commit_seq, bare.partitions.len()), (None, 0));
        let w: serde_json::Value =
            serde_json::from_slice(&Meta::v1(["b".into(), "a".into()]).to_compact()).unwrap();
        assert_eq!(w, serde_json::json!({"version":1,"partitions":["a","b"]}));
        for bad in [
            &br#"{"version":3,"partitions":[]}"#[..],
            b"nope",
            br#"{"version":2,"partitions":["../x"]}"#,
            br#"{"version":2,"partitions":["a/b"]}"#,
            br#"{"version":2,"partitions":[],"commitSeq":9007199254740992}"#,
            br#"{"partitions":[]}"#,
            br#"{"version":2,"version":1,"partitions":[]}"#,
            br#"{"version":2,"partitions":[],"partitions":["a"]}"#,
            br#"{"version":2,"partitions":"a"}"#,
            br#"["version",2]"#,
        ] {
            match Meta::parse(bad, "s3://b/_index/_meta.json") {
                Err(Error::CorruptData(m)) => assert!(m.contains("_meta.json"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_rewritten_as_they_were() {
        let big = format!("{}3", "9".repeat(95));
        let text = format!(r#"{{"version":1,"partitions":[],"ratio":{big},"f":0.1}}"#);
        let m = Meta::parse(text.as_bytes(), "m").unwrap();
        assert_eq!(Meta::parse(&m.to_compact(), "m").unwrap(), m);
    }

    #[test]
    fn shard_formats_and_scrubbing() {
        let (s, scrubbed) = Shard::parse(
            br#"{"version":1,"entries":{
                "data/t/m/n/1/raw":{"key":"data/t/m/n/1/raw","size":3,"lastModified":"2026-01-01T00:00:00.000Z","localMtime":"2026-01-01T00:00:00.000Z"},
                "_index/x.json":{"key":"_index/x.json","size":1,"lastModified":"x"}}}"#,
            "s",
        )
        .unwrap();
        assert_eq!(scrubbed, 1);
        assert_eq!(s.entries["data/t/m/n/1/raw"].sha256, None);
        let v: serde_json::Value = serde_json::from_slice(&Shard::default().to_compact()).unwrap();
        assert_eq!(v, serde_json::json!({"version":1,"entries":{}}));
        assert!(matches!(
            Shard::parse(br#"{"version":9,"entries":{}}"#, "s"),
            Err(Error::CorruptData(_))
        ));
    }

    #[test]
    fn shard_names() {
        assert_eq!(shard_file("_root"), "_index/_root.json");
        assert_eq!(shard_of("x.json"), "_root");
        assert_eq!(shard_of("config/a.yaml"), UNPARTITIONED);
        assert_eq!(shard_of("data/t/m/n/1/raw"), "data--t--m");
    }

    #[test]
    fn shards_touching_a_path() {
        let listed: Vec<String> = [
            "_root",
            "data--aws--ec2--vpc",
            "data--aws--ec2--vpc--abc",
            "data--aws--ec2--vpc--abd",
            "data--aws--ec2--vpc--abc--state",
            "outputs--aws--ec2--vpc--abc",
            "audit",
            UNPARTITIONED,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = |p: &str| shards_touching(p, &listed);
        // A model directory: its own shard, the type shard holding its
        // `latest` markers, deeper shards; never a sibling model's.
        assert_eq!(
            t("data/aws/ec2/vpc/abc"),
            vec![
                "data--aws--ec2--vpc",
                "data--aws--ec2--vpc--abc",
                "data--aws--ec2--vpc--abc--state",
                UNPARTITIONED
            ]
        );
        // A file lands in its own shard (plus the catch-all).
        for f in [
            "data/aws/ec2/vpc/abc/state/1/raw",
            "data/aws/ec2/vpc/abc/state/latest",
        ] {
            let pk = rules::partition_key(f).unwrap();
            assert!(t(f).contains(&pk.as_str()), "{f}");
        }
        assert_eq!(t("x.json"), vec!["_root", UNPARTITIONED]);
        assert_eq!(t("audit/2026/x"), vec!["audit", UNPARTITIONED]);
        // Every entry under a directory is in one of its touching shards.
        for rel in [
            "data/aws/ec2/vpc/abc/state/1/raw",
            "data/aws/ec2/vpc/abc/state/latest",
            "data/aws/ec2/vpc/abc/x",
        ] {
            let pk = rules::partition_key(rel).unwrap();
            for dir in ["data", "data/aws", "data/aws/ec2/vpc/abc"] {
                let all: Vec<String> = vec![pk.clone()];
                assert_eq!(shards_touching(dir, &all), vec![pk.as_str()], "{rel} {dir}");
            }
        }
    }
}
