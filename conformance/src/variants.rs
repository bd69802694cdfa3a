//! Invalid configs generated from a JSON Schema: from a valid config, drop
//! each required field, give each typed property a value of the wrong type
//! (or outside its enum), and add an unknown field when the schema forbids
//! extra properties. Each variant is labelled with what was broken.

use serde_json::{Map, Value};

/// The name of the unknown field added when `additionalProperties` is false.
pub const UNKNOWN_FIELD: &str = "x-conformance-unknown-field";

/// One generated invalid config.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// What was broken, e.g. "without required `path`".
    pub label: String,
    /// The valid config with that one thing broken; the schema and
    /// create-provider must both reject it.
    pub config: Value,
}

/// Invalid variants of `valid` (an object) according to the top level of
/// `schema`.
pub fn invalid_variants(schema: &Value, valid: &Value) -> Vec<Variant> {
    let Some(base) = valid.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let with = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut m = base.clone();
        f(&mut m);
        Value::Object(m)
    };
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for field in required.iter().filter_map(Value::as_str) {
            out.push(Variant {
                label: format!("without required `{field}`"),
                config: with(&|m| {
                    m.remove(field);
                }),
            });
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let types = declared_types(prop);
            if let Some(bad) = wrong_type_value(&types) {
                out.push(Variant {
                    label: format!(
                        "`{name}` of type {} instead of {}",
                        json_type(&bad),
                        types.join("|")
                    ),
                    config: with(&|m| {
                        m.insert(name.clone(), bad.clone());
                    }),
                });
            }
            if let Some(allowed) = prop.get("enum").and_then(Value::as_array) {
                let bad = Value::String("x-conformance-not-in-enum".into());
                if !allowed.contains(&bad) && allowed.iter().all(Value::is_string) {
                    out.push(Variant {
                        label: format!("`{name}` outside its enum"),
                        config: with(&|m| {
                            m.insert(name.clone(), bad.clone());
                        }),
                    });
                }
            }
        }
    }
    if schema.get("additionalProperties") == Some(&Value::Bool(false))
        && !base.contains_key(UNKNOWN_FIELD)
    {
        out.push(Variant {
            label: format!("unknown field `{UNKNOWN_FIELD}`"),
            config: with(&|m| {
                m.insert(UNKNOWN_FIELD.into(), Value::Bool(true));
            }),
        });
    }
    out
}

/// The JSON types a property schema declares (`type` as a string or list).
fn declared_types(prop: &Value) -> Vec<String> {
    match prop.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A value that satisfies none of `types`.
fn wrong_type_value(types: &[String]) -> Option<Value> {
    if types.is_empty() {
        return None;
    }
    let candidates = [
        serde_json::json!(12345),
        serde_json::json!("x-conformance-wrong-type"),
        serde_json::json!(true),
        serde_json::json!(0.5),
        serde_json::json!(["x"]),
        serde_json::json!({"x": 1}),
        Value::Null,
    ];
    candidates
        .into_iter()
        .find(|v| !types.iter().any(|t| satisfies(v, t)))
}

fn satisfies(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["path"],
            "additionalProperties": false,
            "properties": {
                "path": {"type": "string", "x-swamp-mount": true},
                "cache": {"type": "boolean"},
                "retries": {"type": ["integer", "null"]},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "free": {}
            }
        })
    }

    #[test]
    fn drops_each_required_field() {
        let v = invalid_variants(&schema(), &json!({"path": "/d", "cache": true}));
        let dropped: Vec<_> = v
            .iter()
            .filter(|v| v.label.starts_with("without"))
            .collect();
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].config, json!({"cache": true}));
    }

    #[test]
    fn gives_each_typed_property_a_wrong_type() {
        let v = invalid_variants(&schema(), &json!({"path": "/d"}));
        let get = |name: &str| {
            v.iter()
                .find(|x| x.label.starts_with(&format!("`{name}` of type")))
                .map(|x| x.config[name].clone())
        };
        assert_eq!(get("path"), Some(json!(12345)));
        assert_eq!(get("cache"), Some(json!(12345)));
        let retries = get("retries").unwrap();
        assert!(!retries.is_null() && !retries.is_i64(), "{retries}");
        assert!(!satisfies(&retries, "integer"));
        assert_eq!(get("free"), None, "untyped properties are left alone");
        // The other fields of the valid config are kept.
        let cache = v.iter().find(|x| x.label.starts_with("`cache`")).unwrap();
        assert_eq!(cache.config["path"], "/d");
    }

    #[test]
    fn enum_and_unknown_field() {
        let v = invalid_variants(&schema(), &json!({"path": "/d"}));
        assert!(v.iter().any(|x| x.label == "`mode` outside its enum"));
        let unknown = v
            .iter()
            .find(|x| x.label.starts_with("unknown field"))
            .unwrap();
        assert_eq!(unknown.config[UNKNOWN_FIELD], json!(true));
        assert_eq!(unknown.config["path"], "/d");
        // No unknown-field variant when the schema allows extra properties.
        let mut open = schema();
        open.as_object_mut().unwrap().remove("additionalProperties");
        assert!(
            !invalid_variants(&open, &json!({"path": "/d"}))
                .iter()
                .any(|x| x.label.starts_with("unknown"))
        );
    }

    #[test]
    fn every_variant_differs_from_the_valid_config() {
        let valid = json!({"path": "/d", "cache": false});
        for v in invalid_variants(&schema(), &valid) {
            assert_ne!(v.config, valid, "{}", v.label);
        }
        assert!(invalid_variants(&schema(), &json!("not an object")).is_empty());
    }
}
