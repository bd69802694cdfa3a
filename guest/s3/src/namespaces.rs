//! Namespace claims in the bucket (docs/contract.md §5.8): the manifest
//! `{prefix}/{ns}/.namespace.json` holding `{namespace, repoId,
//! registeredAt}` as pretty JSON, the same object the original writes.
//!
//! * register: create the manifest with `If-None-Match: *`; when it exists,
//!   read it: another repo's claim is a `conflict` ("Namespace "ns" is
//!   already registered by repo <id>"), our own claim is overwritten to
//!   refresh its time (with `If-Match` on the ETag just read, so a claim
//!   that changed meanwhile is looked at again instead of clobbered);
//! * a create whose answer was lost is disambiguated by reading back;
//! * servers without conditional writes (501) get the original's
//!   read-then-write;
//! * list: every key under the prefix ending `/.namespace.json`, keeping
//!   the part before it when it is a valid slug.

use swamp_datastore_sdk::namespace::{self, MANIFEST, NamespaceManifest};
use swamp_datastore_sdk::serde_json;
use swamp_datastore_sdk::{Error, Result, iso_time};

use crate::client::{Cond, Deadline, S3Client};
use crate::http::Transport;

/// Rounds of create / read / refresh before giving up on a manifest that
/// keeps changing under us.
const ROUNDS: usize = 4;

/// The manifest's key relative to the prefix.
pub fn manifest_key(ns: &str) -> String {
    format!("{ns}/{MANIFEST}")
}

fn conflict(ns: &str, owner: &str) -> Error {
    Error::Conflict(format!(
        "Namespace \"{ns}\" is already registered by repo {owner}"
    ))
}

/// Claim `ns` for `repo_id` (see the module docs).
pub async fn register<T: Transport>(client: &S3Client<T>, ns: &str, repo_id: &str) -> Result<()> {
    namespace::validate(ns)?;
    if repo_id.is_empty() {
        return Err(Error::InvalidArgument("repo id must not be empty".into()));
    }
    let full = client.config().full_key(&manifest_key(ns));
    let target = client.describe(&full);
    let manifest = NamespaceManifest {
        namespace: ns.to_string(),
        repo_id: repo_id.to_string(),
        registered_at: iso_time::now_millis(),
    };
    let body = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("serialising the namespace manifest: {e}")))?;
    let mut conditional = true;
    for _ in 0..ROUNDS {
        // 1. Create it if nobody has.
        if conditional {
            match client
                .put(&full, body.clone(), &Cond::Absent, Deadline::NONE)
                .await?
            {
                Ok(_) => return Ok(()),
                Err(f) if f.is_precondition() => {}
                Err(f) if f.is_not_implemented() => conditional = false,
                Err(f) if f.is_ambiguous() => {}
                Err(f) => return Err(f.into_error("PutObject (register namespace)", &target)),
            }
        }
        // 2. It exists (or our create may have landed): whose is it?
        let existing = client
            .get(&full, Deadline::NONE)
            .await?
            .map_err(|f| f.into_error("GetObject (namespace manifest)", &target))?;
        let Some(obj) = existing else {
            if conditional {
                // Deleted meanwhile, or our ambiguous create did not land.
                continue;
            }
            // No conditional writes: the original's read-then-write.
            client
                .put(&full, body.clone(), &Cond::None, Deadline::NONE)
                .await?
                .map_err(|f| f.into_error("PutObject (register namespace)", &target))?;
            return Ok(());
        };
        if obj.body == body {
            // Our own create, whose answer was lost.
            return Ok(());
        }
        let current: NamespaceManifest = serde_json::from_slice(&obj.body).map_err(|e| {
            Error::CorruptData(format!(
                "namespace manifest {target} is not valid JSON ({e}); it was left untouched"
            ))
        })?;
        if current.repo_id != repo_id {
            return Err(conflict(ns, &current.repo_id));
        }
        // 3. Ours: refresh the time, only over the version just read.
        let cond = if conditional && !obj.meta.etag.is_empty() {
            Cond::Etag(obj.meta.etag.clone())
        } else {
            Cond::None
        };
        match client
            .put(&full, body.clone(), &cond, Deadline::NONE)
            .await?
        {
            Ok(_) => return Ok(()),
            // Changed (or deleted) since we read it: look again.
            Err(f) if f.is_precondition() || f.status() == Some(404) => continue,
            Err(f) if f.is_not_implemented() => {
                conditional = false;
                continue;
            }
            Err(f) if f.is_ambiguous() => continue,
            Err(f) => return Err(f.into_error("PutObject (refresh namespace)", &target)),
        }
    }
    Err(Error::Conflict(format!(
        "Namespace \"{ns}\" kept changing while it was being registered ({target}); try again"
    )))
}

/// The namespaces named by `keys` (full object keys) under `base` (the
/// prefix with its trailing `/`, or empty): sorted, without duplicates.
pub fn namespaces_in<'a>(base: &str, keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let suffix = format!("/{MANIFEST}");
    let mut out: Vec<String> = keys
        .into_iter()
        .filter_map(|k| k.strip_prefix(base))
        .filter_map(|k| k.strip_suffix(&suffix))
        .filter(|ns| namespace::validate(ns).is_ok())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The registered namespaces, sorted.
pub async fn list<T: Transport>(client: &S3Client<T>) -> Result<Vec<String>> {
    let base = client.config().full_key("");
    let listed = client
        .list(&base, Deadline::NONE)
        .await?
        .map_err(|f| f.into_error("ListObjectsV2 (namespaces)", &client.describe(&base)))?;
    Ok(namespaces_in(&base, listed.iter().map(|o| o.key.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_found_under_the_prefix_only() {
        let keys = [
            "team/alpha/.namespace.json",
            "team/alpha/data/x/raw",
            "team/beta/.namespace.json",
            "team/.namespace.json",
            "team/a/b/.namespace.json",
            "team/Bad_Slug/.namespace.json",
            "other/gamma/.namespace.json",
            "team/beta/.namespace.json",
            "team/delta/.namespace.json.bak",
        ];
        assert_eq!(namespaces_in("team/", keys), vec!["alpha", "beta"]);
        assert_eq!(
            namespaces_in("", ["x/.namespace.json", "team/y/.namespace.json"]),
            vec!["x"]
        );
        assert_eq!(manifest_key("alpha"), "alpha/.namespace.json");
    }
}
