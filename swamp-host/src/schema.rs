//! The component's config schema: JSON Schema text compiled once per plugin,
//! and config validation that reports every problem with its path.

use crate::error::{HostError, HostResult};
use crate::types::ConfigProblem;
use serde_json::Value;

pub(crate) struct ConfigSchema {
    pub(crate) json: Value,
    validator: jsonschema::Validator,
}

impl ConfigSchema {
    /// Parse and compile the schema a component exported.
    pub(crate) fn compile(component: &str, text: &str) -> HostResult<Self> {
        let load = |reason: String| HostError::Load {
            component: component.to_string(),
            reason,
        };
        let json: Value = serde_json::from_str(text)
            .map_err(|e| load(format!("config-schema is not JSON: {e}")))?;
        if !json.is_object() {
            return Err(load("config-schema must be a JSON Schema object".into()));
        }
        // A schema that does not match the meta-schema is rejected outright:
        // every config would be judged by a broken rule.
        if let Err(e) = jsonschema::meta::validate(&json) {
            return Err(load(format!("config-schema is not valid JSON Schema: {e}")));
        }
        let validator = jsonschema::validator_for(&json)
            .map_err(|e| load(format!("config-schema cannot be compiled: {e}")))?;
        Ok(Self { json, validator })
    }

    /// Every problem of `config`, each with the JSON Pointer of its value.
    pub(crate) fn problems(&self, config: &Value) -> Vec<ConfigProblem> {
        self.validator
            .iter_errors(config)
            .map(|e| ConfigProblem {
                path: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_every_problem_with_its_path() {
        let schema = ConfigSchema::compile(
            "t",
            r#"{"type":"object","required":["path"],"additionalProperties":false,
               "properties":{"path":{"type":"string"},"cache":{"type":"boolean"}}}"#,
        )
        .unwrap();
        assert!(schema.problems(&json!({"path": "/x"})).is_empty());
        let p = schema.problems(&json!({"cache": "yes", "extra": 1}));
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"/cache"), "{p:?}");
        assert!(paths.contains(&""), "{p:?}");
        assert!(
            p.len() >= 3,
            "missing path, wrong type, unknown field: {p:?}"
        );
    }

    #[test]
    fn rejects_schemas_that_are_not_json_schema() {
        assert!(ConfigSchema::compile("t", "not json").is_err());
        assert!(ConfigSchema::compile("t", "[]").is_err());
        assert!(ConfigSchema::compile("t", r#"{"type": 12}"#).is_err());
    }
}
