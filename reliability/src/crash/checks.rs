//! What the crash scenario checks after every kill, read straight from the
//! disk and the store (never through the component under test).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use swamp_datastore_sdk::atomic_file::is_temp_name;
use swamp_datastore_sdk::sync::rules;

use crate::{Remote, content};

/// A cache directory as found.
#[derive(Debug, Default)]
pub struct CacheScan {
    /// Every data file, by rel (all verified complete).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Temporary files a killed writer left (named as temps).
    pub temps: Vec<String>,
    /// Torn or foreign files: each is a failure.
    pub problems: Vec<String>,
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let ft = entry.file_type()?;
        let path = entry.path();
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Every regular file below `root`, as forward-slash rels.
pub fn files_below(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

/// Scan a cache: every file that is not a temp is either an internal state
/// file holding whole JSON, or a complete self-verifying data file.
pub fn scan_cache(cache: &Path) -> Result<CacheScan> {
    let mut scan = CacheScan::default();
    for rel in files_below(cache)? {
        let base = rel.rsplit('/').next().unwrap_or(&rel);
        let path = cache.join(&rel);
        if is_temp_name(base) {
            scan.temps.push(rel);
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if rules::is_internal(&rel) {
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                scan.problems.push(format!(
                    "cache state file {rel} is torn ({} bytes, not JSON: {e})",
                    bytes.len()
                ));
            }
            continue;
        }
        match content::verify(&rel, &bytes) {
            Ok(_) => {
                scan.files.insert(rel, bytes);
            }
            Err(e) => scan.problems.push(format!("cache file {e}")),
        }
    }
    Ok(scan)
}

/// One entry of the remote index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub size: u64,
    pub sha256: Option<String>,
}

/// The remote index and the objects it lists.
#[derive(Debug, Default)]
pub struct IndexScan {
    pub entries: BTreeMap<String, Entry>,
    /// Entries whose object is there, complete, with the listed size and hash.
    pub exact: usize,
    /// Entries whose object is complete but a later version than listed: a
    /// push uploaded it (objects live at their rel, as in swamp's layout)
    /// and was killed before it recorded it in the index.
    pub newer: Vec<String>,
    /// Entries without their object, or with a torn object, or naming a
    /// temporary file: each is a failure.
    pub problems: Vec<String>,
}

fn entries_of(v: &serde_json::Value, source: &str) -> Result<BTreeMap<String, Entry>> {
    let map = v["entries"]
        .as_object()
        .with_context(|| format!("{source} has no entries object"))?;
    Ok(map
        .iter()
        .map(|(rel, e)| {
            (
                rel.clone(),
                Entry {
                    size: e["size"].as_u64().unwrap_or(u64::MAX),
                    sha256: e["sha256"].as_str().map(str::to_string),
                },
            )
        })
        .collect())
}

fn json(remote: &Remote, key: &str) -> Result<Option<serde_json::Value>> {
    remote
        .get(key)?
        .map(|b| {
            serde_json::from_slice(&b)
                .with_context(|| format!("remote {key} is not JSON ({} bytes)", b.len()))
        })
        .transpose()
}

/// Read the authoritative remote index (the shards when `_index/_meta.json`
/// says version 2, else the monolith) and check every entry's object.
pub fn scan_index(remote: &Remote) -> Result<IndexScan> {
    let mut scan = IndexScan::default();
    match json(remote, "_index/_meta.json")? {
        Some(meta) if meta["version"] == 2 => {
            for pk in meta["partitions"].as_array().into_iter().flatten() {
                let key = format!("_index/{}.json", pk.as_str().unwrap_or_default());
                match json(remote, &key)? {
                    Some(shard) => scan.entries.extend(entries_of(&shard, &key)?),
                    None => scan
                        .problems
                        .push(format!("shard {key} is listed in the meta but missing")),
                }
            }
        }
        _ => {
            if let Some(index) = json(remote, rules::INDEX_FILE)? {
                scan.entries = entries_of(&index, rules::INDEX_FILE)?;
            }
        }
    }
    for (rel, e) in &scan.entries {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        if is_temp_name(base) || rules::is_internal(rel) {
            scan.problems
                .push(format!("the index lists {rel}, which must never sync"));
            continue;
        }
        let Some(bytes) = remote.get(rel)? else {
            scan.problems
                .push(format!("the index lists {rel} but its object is missing"));
            continue;
        };
        if let Err(why) = content::verify(rel, &bytes) {
            scan.problems.push(format!(
                "the index lists {rel} but its object is torn: {why}"
            ));
            continue;
        }
        let sha = hex::encode(Sha256::digest(&bytes));
        if e.sha256.as_deref() == Some(sha.as_str()) && e.size == bytes.len() as u64 {
            scan.exact += 1;
        } else {
            scan.newer.push(rel.clone());
        }
    }
    Ok(scan)
}

/// Objects in the share that no index entry lists (fs only): uploads a
/// killed push never recorded. Harmless (never pulled), counted.
pub fn orphans(remote: &Remote, index: &IndexScan) -> Result<Option<usize>> {
    let Some(share) = remote.share() else {
        return Ok(None);
    };
    Ok(Some(
        files_below(share)?
            .iter()
            .filter(|rel| !rules::is_never_synced(rel) && !index.entries.contains_key(*rel))
            .count(),
    ))
}

/// How two trees differ (empty when equal), by rel.
pub fn diff(
    what: &str,
    want: &BTreeMap<String, Vec<u8>>,
    got: &BTreeMap<String, Vec<u8>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, bytes) in want {
        match got.get(rel) {
            None => out.push(format!("{what}: {rel} is missing")),
            Some(b) if b != bytes => out.push(format!(
                "{what}: {rel} differs (generation {:?}, expected {:?})",
                content::verify(rel, b).ok(),
                content::verify(rel, bytes).ok()
            )),
            Some(_) => {}
        }
    }
    for rel in got.keys().filter(|r| !want.contains_key(*r)) {
        out.push(format!("{what}: {rel} should not be there"));
    }
    out
}
