//! Namespace slugs (swamp's rule) and the `.namespace.json` manifest.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest slug swamp accepts.
pub const MAX_LEN: usize = 64;

/// File name of the manifest that claims a namespace.
pub const MANIFEST: &str = ".namespace.json";

/// Check `ns` against `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, at most 64 chars.
pub fn validate(ns: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::InvalidArgument(format!(
            "namespace {ns:?} {why} (allowed: lowercase letters, digits and inner hyphens, at most {MAX_LEN} characters)"
        )))
    };
    if ns.is_empty() {
        return bad("is empty");
    }
    if ns.len() > MAX_LEN {
        return bad("is too long");
    }
    if !ns
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        return bad("has a character outside [a-z0-9-]");
    }
    if ns.starts_with('-') || ns.ends_with('-') {
        return bad("starts or ends with a hyphen");
    }
    Ok(())
}

/// The body of `{ns}/.namespace.json` (pretty JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceManifest {
    /// The slug.
    pub namespace: String,
    /// The repository that claimed it.
    pub repo_id: String,
    /// ISO-8601 time of the claim (refreshed by the owner).
    pub registered_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rule() {
        for good in ["a", "0", "team-a", "a1-b2", &"x".repeat(64)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a/b",
            "..",
            "a.b",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(validate(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn manifest_json_shape() {
        let m = NamespaceManifest {
            namespace: "team".into(),
            repo_id: "r1".into(),
            registered_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let s = serde_json::to_string_pretty(&m).unwrap();
        assert_eq!(
            s,
            "{\n  \"namespace\": \"team\",\n  \"repoId\": \"r1\",\n  \"registeredAt\": \"2026-01-01T00:00:00.000Z\"\n}"
        );
    }
}
