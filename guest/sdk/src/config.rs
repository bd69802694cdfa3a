//! Helpers for `create-provider`'s defence-in-depth validation: walk a JSON
//! config once and collect *every* problem with its JSON Pointer, instead of
//! stopping at the first.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use swamp_datastore_types::ConfigProblem;

/// JSON Pointer (RFC 6901) of a top-level field.
pub fn pointer(field: &str) -> String {
    format!("/{}", field.replace('~', "~0").replace('/', "~1"))
}

/// Collects problems while fields are read. Finish with [`ConfigCheck::finish`].
#[derive(Debug)]
pub struct ConfigCheck<'a> {
    fields: Option<&'a Map<String, Value>>,
    problems: Vec<ConfigProblem>,
}

impl<'a> ConfigCheck<'a> {
    /// Start checking `config`, which must be a JSON object.
    pub fn new(config: &'a Value) -> ConfigCheck<'a> {
        let mut c = ConfigCheck {
            fields: config.as_object(),
            problems: Vec::new(),
        };
        if c.fields.is_none() {
            c.problem(
                "",
                format!("the config must be a JSON object, got {}", kind(config)),
            );
        }
        c
    }

    /// Record a problem at `path` (a JSON Pointer, "" for the root).
    pub fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.fields.and_then(|m| m.get(field))
    }

    /// A string field that must be present.
    pub fn required_string(&mut self, field: &str) -> Option<String> {
        if self.fields.is_some() && self.get(field).is_none() {
            self.problem(pointer(field), format!("'{field}' is required"));
            return None;
        }
        self.optional_string(field)
    }

    /// A string field that may be absent (or `null`).
    pub fn optional_string(&mut self, field: &str) -> Option<String> {
        match self.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.problem(
                    pointer(field),
                    format!("'{field}' must be a string, got {}", kind(v)),
                );
                None
            }
        }
    }

    /// A boolean field that may be absent (or `null`).
    pub fn optional_bool(&mut self, field: &str) -> Option<bool> {
        match self.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                self.problem(
                    pointer(field),
                    format!("'{field}' must be a boolean, got {}", kind(v)),
                );
                None
            }
        }
    }

    /// An integer field in `min..=max` that may be absent.
    pub fn optional_u64_in(&mut self, field: &str, min: u64, max: u64) -> Option<u64> {
        match self.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    self.problem(
                        pointer(field),
                        format!("'{field}' must be an integer from {min} to {max}, got {v}"),
                    );
                    None
                }
            },
        }
    }

    /// Check that the string `value` of `field` is an absolute path the
    /// guest can use (the host mounts it at the same path). Returns whether
    /// it passed.
    pub fn absolute_path(&mut self, field: &str, value: &str) -> bool {
        let why = if value.is_empty() {
            Some("must not be empty".to_string())
        } else if value.contains('\0') {
            Some("must not contain a NUL character".to_string())
        } else if !value.starts_with('/') {
            Some(format!(
                "must be an absolute path (starting with '/'), got {value:?}"
            ))
        } else if value.split('/').any(|s| s == "..") {
            Some(format!("must not contain '..' segments, got {value:?}"))
        } else {
            None
        };
        match why {
            Some(w) => {
                self.problem(pointer(field), format!("'{field}' {w}"));
                false
            }
            None => true,
        }
    }

    /// Refuse every top-level field not in `allowed`.
    pub fn deny_unknown(&mut self, allowed: &[&str]) {
        let Some(m) = self.fields else { return };
        let unknown: Vec<String> = m
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            self.problem(
                pointer(&k),
                format!("unknown field '{k}' (allowed: {})", allowed.join(", ")),
            );
        }
    }

    /// The problems found so far.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// `Ok` when nothing was wrong, else `invalid-config` with every problem.
    pub fn finish(self) -> Result<()> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(self.problems))
        }
    }
}

/// "a string", "an object", ... for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(r: Result<()>) -> Vec<String> {
        match r {
            Err(Error::InvalidConfig(p)) => p.into_iter().map(|p| p.path).collect(),
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn collects_every_problem_with_its_pointer() {
        let cfg = json!({"cache": "yes", "extra": 1, "a/b": 2});
        let mut c = ConfigCheck::new(&cfg);
        assert_eq!(c.required_string("path"), None);
        assert_eq!(c.optional_bool("cache"), None);
        c.deny_unknown(&["path", "cache"]);
        let p = paths(c.finish());
        assert_eq!(p, vec!["/path", "/cache", "/a~1b", "/extra"]);
    }

    #[test]
    fn root_must_be_an_object() {
        let cfg = json!([1]);
        let mut c = ConfigCheck::new(&cfg);
        c.required_string("path");
        assert_eq!(paths(c.finish()), vec![""]);
    }

    #[test]
    fn type_and_range_checks() {
        let cfg = json!({"path": 5, "n": 0, "m": 3, "b": null});
        let mut c = ConfigCheck::new(&cfg);
        assert_eq!(c.required_string("path"), None);
        assert_eq!(c.optional_u64_in("n", 1, 10), None);
        assert_eq!(c.optional_u64_in("m", 1, 10), Some(3));
        assert_eq!(c.optional_bool("b"), None);
        let msgs: Vec<_> = c.problems().iter().map(|p| p.message.clone()).collect();
        assert!(msgs[0].contains("must be a string, got a number"));
        assert!(msgs[1].contains("from 1 to 10"));
        assert_eq!(msgs.len(), 2);
    }

    #[test]
    fn absolute_paths() {
        let cfg = json!({});
        let mut c = ConfigCheck::new(&cfg);
        assert!(c.absolute_path("path", "/data/store"));
        assert!(!c.absolute_path("path", "rel/dir"));
        assert!(!c.absolute_path("path", ""));
        assert!(!c.absolute_path("path", "/a/../b"));
        assert_eq!(c.problems().len(), 3);
        assert!(c.problems()[0].message.contains("absolute"));
    }

    #[test]
    fn pointer_escapes() {
        assert_eq!(pointer("a~b/c"), "/a~0b~1c");
    }
}
