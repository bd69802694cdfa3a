//! What the suite checks ([`Subject`]): the component, its configs and the
//! knobs of a run, with the default choice of the config field that gives
//! each check a datastore of its own.

use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use swamp_host::Plugin;

/// What the suite checks: one loaded component and the configs to check it
/// with.
#[derive(Clone)]
pub struct Subject {
    /// The loaded component under check; every provider, lock and sync
    /// service the checks open is made from it.
    pub plugin: Plugin,
    /// The main valid config.
    pub config: Value,
    /// More valid configs from the author; `config` is always checked too.
    pub valid_configs: Vec<Value>,
    /// Configs the author says are invalid: schema and create-provider must
    /// both reject each one.
    pub invalid_configs: Vec<Value>,
    /// Labelled configs whose datastore is missing or unwritable; the
    /// verifier must call each unhealthy. The check is skipped when empty.
    pub unhealthy_configs: Vec<(String, Value)>,
    /// Scratch directory the suite may use (repo dirs, caches). Created on
    /// demand.
    pub workdir: PathBuf,
    /// A string config field the suite extends with `/<check-id>` so that
    /// every check works on a datastore of its own (starting empty when the
    /// field is a directory marked `"x-swamp-mount": true`, which the suite
    /// creates). None: every check shares `config`'s datastore.
    pub isolate_by: Option<String>,
    /// The repository directory handed to the provider (none: a directory
    /// under `workdir`).
    pub repo_dir: Option<PathBuf>,
    /// How long one check may take before it is failed.
    pub check_timeout: Duration,
    /// The seed of the generated trees (`sync.generated-tree`); a failure
    /// names it, and the same seed replays the same trees.
    pub seed: u64,
    /// Direct access to the objects of a datastore that is not a local
    /// directory (a bucket), for the checks that plant or alter stored
    /// files; they skip without it.
    pub raw_store: Option<Arc<dyn crate::raw_store::RawStore>>,
}

/// The properties a config schema marks `"x-swamp-mount": true`.
pub fn mount_fields(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, v)| {
                    v.get(swamp_host::sandbox::MOUNT_KEYWORD)
                        .and_then(Value::as_bool)
                        == Some(true)
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A seed that differs from run to run.
fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5eed)
}

/// The field [`Subject::new`] isolates by (see there).
pub fn default_isolation(schema: &Value, config: &Value) -> Option<String> {
    let set = |k: &str| config.get(k).is_some_and(Value::is_string);
    match mount_fields(schema).as_slice() {
        [only] if set(only) => Some(only.clone()),
        _ => ["path", "prefix"]
            .into_iter()
            .find(|k| set(k))
            .map(str::to_string),
    }
}

impl Subject {
    /// A subject with sensible defaults: no extra configs, isolation by the
    /// schema's only `x-swamp-mount` field when it has exactly one (and the
    /// config sets it), else by the string field `path` if the config has
    /// one, else `prefix`.
    pub fn new(plugin: Plugin, config: Value, workdir: PathBuf) -> Self {
        let isolate_by = default_isolation(plugin.schema(), &config);
        Self {
            plugin,
            config,
            valid_configs: Vec::new(),
            invalid_configs: Vec::new(),
            unhealthy_configs: Vec::new(),
            workdir,
            isolate_by,
            repo_dir: None,
            check_timeout: Duration::from_secs(60),
            seed: fresh_seed(),
            raw_store: None,
        }
    }

    /// `config` followed by the other valid configs, without duplicates.
    pub fn all_valid_configs(&self) -> Vec<Value> {
        let mut all = vec![self.config.clone()];
        for c in &self.valid_configs {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_defaults_to_the_only_mount_field() {
        let schema = |props: Value| serde_json::json!({"type": "object", "properties": props});
        let one = schema(serde_json::json!({
            "root": {"type": "string", "x-swamp-mount": true},
            "path": {"type": "string"},
        }));
        let config = serde_json::json!({"root": "/srv/a", "path": "/srv/b"});
        assert_eq!(default_isolation(&one, &config).as_deref(), Some("root"));
        // Unset in the config: the usual fallback.
        let config = serde_json::json!({"path": "/srv/b"});
        assert_eq!(default_isolation(&one, &config).as_deref(), Some("path"));
        // Two mounts: no guess; path, else prefix.
        let two = schema(serde_json::json!({
            "a": {"type": "string", "x-swamp-mount": true},
            "b": {"type": "string", "x-swamp-mount": true},
        }));
        let config = serde_json::json!({"a": "/x", "b": "/y", "prefix": "p"});
        assert_eq!(default_isolation(&two, &config).as_deref(), Some("prefix"));
        assert_eq!(
            default_isolation(&two, &serde_json::json!({"a": "/x"})),
            None
        );
        assert_eq!(mount_fields(&two), vec!["a".to_string(), "b".to_string()]);
    }
}
