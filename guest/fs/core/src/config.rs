//! The filesystem datastore's config: its JSON Schema (what the host
//! validates and reads sandbox grants from) and the same rules checked
//! again in Rust, reporting every problem.

use swamp_datastore_sdk::Result;
use swamp_datastore_sdk::config::ConfigCheck;
use swamp_datastore_sdk::serde_json::Value;

/// JSON Schema (draft 2020-12). `x-swamp-mount` asks the host to mount
/// `path` at the same absolute path inside the guest.
pub const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Filesystem datastore",
  "description": "A datastore in a directory on a local disk or a network share.",
  "type": "object",
  "properties": {
    "path": {
      "type": "string",
      "description": "Absolute path of the datastore directory. With cache: true it is the shared directory that local caches sync with.",
      "pattern": "^/",
      "minLength": 1,
      "x-swamp-mount": true
    },
    "cache": {
      "type": "boolean",
      "default": false,
      "description": "Work in a local cache and sync it with the directory at path (for slow or remote shares)."
    }
  },
  "required": ["path"],
  "additionalProperties": false
}"#;

/// A validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsConfig {
    /// The datastore (or shared) directory, absolute.
    pub path: String,
    /// Sync through a local cache.
    pub cache: bool,
}

impl FsConfig {
    /// Check `config` and report every problem with its JSON Pointer.
    /// Pure: no file is touched.
    pub fn parse(config: &Value) -> Result<FsConfig> {
        let mut c = ConfigCheck::new(config);
        let path = c.required_string("path");
        let cache = c.optional_bool("cache").unwrap_or(false);
        c.deny_unknown(&["path", "cache"]);
        let path_ok = path.as_deref().is_some_and(|p| c.absolute_path("path", p));
        c.finish()?;
        match path {
            Some(path) if path_ok => Ok(FsConfig {
                path: trim_trailing_slash(&path),
                cache,
            }),
            // finish() already failed for these; keep the compiler honest.
            _ => Err(swamp_datastore_sdk::Error::invalid_config(
                "/path",
                "'path' is required",
            )),
        }
    }
}

fn trim_trailing_slash(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/".to_string()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swamp_datastore_sdk::Error;
    use swamp_datastore_sdk::serde_json::json;

    fn problems(v: Value) -> Vec<(String, String)> {
        match FsConfig::parse(&v) {
            Err(Error::InvalidConfig(p)) => p.into_iter().map(|p| (p.path, p.message)).collect(),
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn schema_is_json_with_the_mount_annotation() {
        let s: Value = swamp_datastore_sdk::serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(s["properties"]["path"]["x-swamp-mount"], true);
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], json!(["path"]));
    }

    #[test]
    fn valid_configs() {
        assert_eq!(
            FsConfig::parse(&json!({"path": "/data/store/"})).unwrap(),
            FsConfig {
                path: "/data/store".into(),
                cache: false
            }
        );
        assert!(
            FsConfig::parse(&json!({"path": "/s", "cache": true}))
                .unwrap()
                .cache
        );
        assert_eq!(FsConfig::parse(&json!({"path": "/"})).unwrap().path, "/");
    }

    #[test]
    fn every_problem_is_reported_with_its_pointer() {
        let p = problems(json!({"cache": "yes", "bucket": "b"}));
        let paths: Vec<_> = p.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, vec!["/path", "/cache", "/bucket"]);
        assert!(p[0].1.contains("required"));
        assert!(p[1].1.contains("boolean"));
        assert!(p[2].1.contains("unknown field"));
        assert_eq!(problems(json!({"path": 3}))[0].0, "/path");
        assert!(
            problems(json!({"path": "relative/dir"}))[0]
                .1
                .contains("absolute")
        );
        assert!(problems(json!({"path": ""}))[0].1.contains("empty"));
        assert_eq!(problems(json!("x"))[0].0, "");
        let both = problems(json!({"path": "rel", "cache": 1}));
        assert_eq!(both.len(), 2);
    }
}
