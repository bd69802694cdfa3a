//! Records of `wit/verifier.wit`.

use serde::{Serialize, Serializer};

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResult {
    /// Reachable and usable (writable).
    pub healthy: bool,
    /// Status; when unhealthy it says why.
    pub message: String,
    /// Round-trip time of the probe in milliseconds, never negative.
    pub latency_ms: f64,
    /// The provider's `@collective/name`.
    pub datastore_type: String,
    /// Extra diagnostic pairs, in the guest's order (a JSON object when
    /// serialised, as swamp's `details` is).
    #[serde(serialize_with = "pairs_as_object")]
    pub details: Vec<(String, String)>,
}

impl HealthResult {
    /// The value of detail `key`, if the guest gave one.
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn pairs_as_object<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_serialise_as_an_object_in_order() {
        let h = HealthResult {
            healthy: true,
            message: "ok".into(),
            latency_ms: 1.5,
            datastore_type: "@x/y".into(),
            details: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
        };
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"healthy":true,"message":"ok","latencyMs":1.5,"datastoreType":"@x/y","details":{"b":"2","a":"1"}}"#
        );
        assert_eq!(h.detail("a"), Some("1"));
        assert_eq!(h.detail("c"), None);
    }
}
