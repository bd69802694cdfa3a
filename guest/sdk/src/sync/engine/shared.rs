//! The shared-store calls (`wit/shared-store.wit`) on any remote store, in
//! the key layout swamp's own S3 datastore uses, so mixed clients read each
//! other's records: control records at `[{ns}/]_control/{key}`, catalog
//! exports at `{ns}/.catalog-export.json`.
//!
//! Every key a caller passes is checked before it names an object: a
//! control key must be a relative path in normal form, a namespace a slug,
//! a foreign rel-path a valid [`RelPath`]. So no call reaches outside the
//! control prefix (control calls) or outside the named namespace (catalog
//! calls).

use std::collections::{BTreeMap, BTreeSet};

use super::SyncEngine;
use super::remote_index::Need;
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::namespace;
use crate::rel_path::RelPath;
use crate::sync::remote::RemoteStore;
use crate::traits::SharedStore;
use swamp_datastore_types::{
    CatalogExport, ContaminationSummary, ForeignNamespace, SharedFeatures,
};

/// Name of a namespace's catalog export, remote and local.
pub const CATALOG_EXPORT_FILE: &str = ".catalog-export.json";

/// The directory of control records inside a root.
const CONTROL_DIR: &str = "_control";

/// The control prefix of `ns` (`None` or "": the root's).
fn control_prefix(ns: Option<&str>) -> Result<String> {
    match ns.filter(|n| !n.is_empty()) {
        None => Ok(format!("{CONTROL_DIR}/")),
        Some(n) => {
            namespace::validate(n)?;
            Ok(format!("{n}/{CONTROL_DIR}/"))
        }
    }
}

/// A control key must already be in normal form: relative, no empty, `.`
/// or `..` segment, no NUL or backslash. Normalising it instead would let
/// two spellings name one record.
fn control_key(key: &str) -> Result<&str> {
    let parsed = RelPath::parse(key, "control key")?;
    if parsed.as_str() != key {
        return Err(Error::InvalidArgument(format!(
            "control key {key:?} is not in normal form (write {:?}: no empty or '.' segments, no trailing slash)",
            parsed.as_str()
        )));
    }
    Ok(key)
}

/// A list prefix is "" or a control key, optionally with a trailing slash.
fn control_list_prefix(prefix: &str) -> Result<&str> {
    let bare = prefix.strip_suffix('/').unwrap_or(prefix);
    if !prefix.is_empty() {
        control_key(bare).map_err(|_| {
            Error::InvalidArgument(format!(
                "control list prefix {prefix:?} must be \"\" or a relative forward-slash path without '.', '..', NUL or backslash"
            ))
        })?;
    }
    Ok(prefix)
}

impl<R: RemoteStore> SyncEngine<R> {
    fn control_object(&mut self, ns: Option<&str>, key: &str) -> Result<String> {
        // Shared-store calls carry no timeout of their own; the host's call
        // deadline bounds them.
        self.remote.set_deadline(None);
        Ok(format!("{}{}", control_prefix(ns)?, control_key(key)?))
    }

    fn catalog_key(ns: &str) -> Result<String> {
        namespace::validate(ns)?;
        Ok(format!("{ns}/{CATALOG_EXPORT_FILE}"))
    }
}

impl<R: RemoteStore> SharedStore for SyncEngine<R> {
    fn features(&self) -> SharedFeatures {
        SharedFeatures {
            control_plane: true,
            catalogs: true,
            contamination_repair: true,
        }
    }

    fn control_put(&mut self, ns: Option<&str>, key: &str, data: &[u8]) -> Result<()> {
        let k = self.control_object(ns, key)?;
        self.remote.put(&k, data)
    }

    fn control_get(&mut self, ns: Option<&str>, key: &str) -> Result<Option<Vec<u8>>> {
        let k = self.control_object(ns, key)?;
        self.remote.get(&k)
    }

    fn control_delete(&mut self, ns: Option<&str>, key: &str) -> Result<()> {
        let k = self.control_object(ns, key)?;
        self.remote.delete(&k)
    }

    fn control_list(&mut self, ns: Option<&str>, prefix: &str) -> Result<Vec<String>> {
        self.remote.set_deadline(None);
        let base = control_prefix(ns)?;
        let prefix = control_list_prefix(prefix)?;
        // List the directory the prefix ends in (a directory store lists
        // whole directories), then keep the keys that start with it.
        let dir = prefix.rfind('/').map_or("", |i| &prefix[..=i]);
        let mut keys: Vec<String> = self
            .remote
            .list(&format!("{base}{dir}"))?
            .into_iter()
            .filter_map(|o| o.key.strip_prefix(&base).map(str::to_string))
            .filter(|k| k.starts_with(prefix))
            .filter(|k| !k.rsplit('/').next().is_some_and(atomic_file::is_temp_name))
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn control_put_if_absent(&mut self, ns: Option<&str>, key: &str, data: &[u8]) -> Result<bool> {
        let k = self.control_object(ns, key)?;
        self.remote.put_if_absent(&k, data)
    }

    fn export_catalog(&mut self, ns: &str, rows_json: &str) -> Result<bool> {
        self.remote.set_deadline(None);
        let key = Self::catalog_key(ns)?;
        match serde_json::from_str::<serde_json::Value>(rows_json) {
            Ok(serde_json::Value::Array(_)) => {}
            Ok(_) => {
                return Err(Error::InvalidArgument(format!(
                    "the catalog rows for namespace {ns:?} must be a JSON array"
                )));
            }
            Err(e) => {
                return Err(Error::InvalidArgument(format!(
                    "the catalog rows for namespace {ns:?} are not valid JSON: {e}"
                )));
            }
        }
        if self.remote.get(&key)?.as_deref() == Some(rows_json.as_bytes()) {
            return Ok(false);
        }
        self.remote.put(&key, rows_json.as_bytes())?;
        Ok(true)
    }

    fn pull_foreign_catalogs(&mut self, namespaces: &[String]) -> Result<Vec<CatalogExport>> {
        self.remote.set_deadline(None);
        let keys = namespaces
            .iter()
            .map(|ns| Self::catalog_key(ns))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for (ns, key) in namespaces.iter().zip(&keys) {
            let Some(bytes) = self.remote.get(key)? else {
                continue;
            };
            // Malformed exports are skipped, as swamp's own datastores do:
            // one namespace's broken export must not hide the others.
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            if matches!(
                serde_json::from_str::<serde_json::Value>(&text),
                Ok(serde_json::Value::Array(_))
            ) {
                out.push(CatalogExport {
                    namespace: ns.clone(),
                    rows_json: text,
                });
            }
        }
        Ok(out)
    }

    fn fetch_foreign_content(&mut self, ns: &str, rel_path: &str) -> Result<Option<Vec<u8>>> {
        self.remote.set_deadline(None);
        namespace::validate(ns)?;
        let rel = RelPath::parse(rel_path, "rel-path")?;
        self.remote.get(&format!("{ns}/{}", rel.as_str()))
    }

    fn repair_namespace_contamination(
        &mut self,
        ns: Option<&str>,
        dry_run: bool,
    ) -> Result<ContaminationSummary> {
        self.remote.set_deadline(None);
        let Some(ns) = ns.filter(|n| !n.is_empty()) else {
            return Ok(ContaminationSummary::default());
        };
        let root = self.root(Some(ns))?;
        let all = self.remote.list("")?;
        // Registered namespaces: a manifest at the root (`x/.namespace.json`)
        // or, left by a doubly-prefixed writer, inside this namespace.
        let mut known = BTreeSet::new();
        for o in &all {
            let Some(owner) = o.key.strip_suffix(&format!("/{}", namespace::MANIFEST)) else {
                continue;
            };
            let owner = owner.strip_prefix(&root.prefix).unwrap_or(owner);
            if !owner.is_empty() && !owner.contains('/') && owner != ns {
                known.insert(owner.to_string());
            }
        }
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for o in &all {
            if let Some((first, _)) = o
                .key
                .strip_prefix(&root.prefix)
                .and_then(|rel| rel.split_once('/'))
                && known.contains(first)
            {
                found
                    .entry(first.to_string())
                    .or_default()
                    .push(o.key.clone());
            }
        }
        let mut summary = ContaminationSummary {
            foreign_namespaces: found
                .iter()
                .map(|(n, keys)| ForeignNamespace {
                    namespace: n.clone(),
                    object_count: keys.len() as u32,
                })
                .collect(),
            total_foreign_objects: found.values().map(Vec::len).sum::<usize>() as u32,
            deleted: 0,
        };
        if dry_run || summary.total_foreign_objects == 0 {
            return Ok(summary);
        }
        let keys: Vec<String> = found.into_values().flatten().collect();
        let results = self.remote.delete_many(&keys);
        summary.deleted = results.iter().filter(|r| r.is_ok()).count() as u32;
        // Rebuild the index from what remains: drop every entry under a
        // foreign namespace's directory (deleted now, or already gone).
        let meta = self.read_meta(&root)?;
        let state = self.load_state(&root, meta, Need::All)?;
        let dropped: Vec<String> = state
            .index
            .entries
            .keys()
            .filter(|rel| {
                rel.split_once('/').is_some_and(|(first, _)| {
                    summary
                        .foreign_namespaces
                        .iter()
                        .any(|f| f.namespace == first)
                })
            })
            .cloned()
            .collect();
        if !dropped.is_empty() {
            self.commit_remote(&root, None, &BTreeMap::new(), &dropped)?;
        }
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            return Err(Error::Unavailable(format!(
                "deleted {} of {} foreign objects in namespace {ns:?}; the index no longer lists them; run the repair again for the rest: {e}",
                summary.deleted, summary.total_foreign_objects
            )));
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_keys_must_be_relative_and_normal() {
        for good in ["a", "fire-records/x.json", "a/b/c"] {
            assert_eq!(control_key(good).unwrap(), good);
        }
        for bad in [
            "", "/a", "a/../b", "..", "a\\b", "a\0b", "./a", "a//b", "a/", "C:/x",
        ] {
            let e = control_key(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{bad:?}: {e:?}");
        }
        assert_eq!(control_list_prefix("").unwrap(), "");
        assert_eq!(
            control_list_prefix("fire-records/").unwrap(),
            "fire-records/"
        );
        assert_eq!(control_list_prefix("fire").unwrap(), "fire");
        for bad in ["/", "../", "a//", "\\"] {
            assert!(control_list_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn control_prefix_is_per_namespace() {
        assert_eq!(control_prefix(None).unwrap(), "_control/");
        assert_eq!(control_prefix(Some("")).unwrap(), "_control/");
        assert_eq!(control_prefix(Some("team-a")).unwrap(), "team-a/_control/");
        assert!(control_prefix(Some("../x")).is_err());
    }
}
