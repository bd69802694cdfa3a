//! Namespace claims: `{datastore}/{ns}/.namespace.json`.

use std::fs;
use std::path::{Path, PathBuf};

use swamp_datastore_sdk::namespace::{self, MANIFEST, NamespaceManifest};
use swamp_datastore_sdk::serde_json;
use swamp_datastore_sdk::{Error, Result, atomic_file, iso_time};

use swamp_datastore_sdk::claim;

fn datastore_dir(datastore_path: &str) -> Result<PathBuf> {
    if !datastore_path.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "datastore path {datastore_path:?} must be absolute"
        )));
    }
    Ok(PathBuf::from(datastore_path))
}

fn read_manifest(path: &Path) -> Result<Option<NamespaceManifest>> {
    let Some(bytes) = atomic_file::read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::CorruptData(format!(
            "namespace manifest {} is not valid JSON ({e}); it was left untouched",
            path.display()
        ))
    })
}

/// Claim `ns` for `repo_id`: create the manifest exclusively; if one
/// exists, succeed (refreshing its time) only when it names the same repo.
pub fn register(datastore_path: &str, ns: &str, repo_id: &str) -> Result<()> {
    namespace::validate(ns)?;
    if repo_id.is_empty() {
        return Err(Error::InvalidArgument("repo id must not be empty".into()));
    }
    let path = datastore_dir(datastore_path)?.join(ns).join(MANIFEST);
    let manifest = NamespaceManifest {
        namespace: ns.to_string(),
        repo_id: repo_id.to_string(),
        registered_at: iso_time::now_millis(),
    };
    let body = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    let tmp = atomic_file::write_temp(&path, &body)?;
    if claim::publish_exclusive(&tmp, &path, &body)? {
        return Ok(());
    }
    match read_manifest(&path)? {
        Some(m) if m.repo_id == repo_id => atomic_file::write_atomic(&path, &body),
        Some(m) => Err(Error::Conflict(format!(
            "Namespace \"{ns}\" is already registered by repo {}",
            m.repo_id
        ))),
        // Deleted between our create and our read: try once more.
        None => {
            let tmp = atomic_file::write_temp(&path, &body)?;
            if claim::publish_exclusive(&tmp, &path, &body)? {
                Ok(())
            } else {
                Err(Error::Conflict(format!(
                    "Namespace \"{ns}\" is being registered concurrently"
                )))
            }
        }
    }
}

/// The namespaces with a manifest, sorted; empty for a missing directory.
pub fn list(datastore_path: &str) -> Result<Vec<String>> {
    let dir = datastore_dir(datastore_path)?;
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir.display(), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if namespace::validate(&name).is_ok() && entry.path().join(MANIFEST).is_file() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_list_and_conflict() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().to_str().unwrap();
        assert!(list(p).unwrap().is_empty());
        register(p, "team-a", "r1").unwrap();
        register(p, "team-a", "r1").unwrap(); // same repo: refresh
        match register(p, "team-a", "r2") {
            Err(Error::Conflict(m)) => {
                assert_eq!(m, "Namespace \"team-a\" is already registered by repo r1")
            }
            other => panic!("{other:?}"),
        }
        register(p, "b", "r2").unwrap();
        fs::create_dir_all(d.path().join("data")).unwrap();
        assert_eq!(list(p).unwrap(), vec!["b", "team-a"]);
        let m: serde_json::Value =
            serde_json::from_slice(&fs::read(d.path().join("team-a/.namespace.json")).unwrap())
                .unwrap();
        assert_eq!(m["namespace"], "team-a");
        assert_eq!(m["repoId"], "r1");
        assert!(
            list(d.path().join("missing").to_str().unwrap())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_slugs_and_corrupt_manifests() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().to_str().unwrap();
        for bad in ["", "../x", "A", "a/b", "-a"] {
            assert!(
                matches!(register(p, bad, "r"), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            register(p, "ok", ""),
            Err(Error::InvalidArgument(_))
        ));
        fs::create_dir_all(d.path().join("x")).unwrap();
        fs::write(d.path().join("x/.namespace.json"), "{").unwrap();
        assert!(matches!(register(p, "x", "r"), Err(Error::CorruptData(_))));
        assert_eq!(
            fs::read_to_string(d.path().join("x/.namespace.json")).unwrap(),
            "{"
        );
        assert!(matches!(list("relative"), Err(Error::InvalidArgument(_))));
    }
}
