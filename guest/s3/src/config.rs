//! The config of `@swamp/s3-datastore` (docs/contract.md §8), same fields and
//! rules, plus optional inline credentials.
//!
//! Unknown keys are **rejected**, not stripped as the original does: the
//! host validates against the schema before the guest sees the config, and
//! a silently dropped typo (`forcePathstyle`, `requestTimeout`) would make
//! the datastore talk to the wrong address or with the wrong timeout while
//! looking configured. Every field the original accepts is accepted here,
//! so a config that worked with the original still works.

use swamp_datastore_sdk::Result;
use swamp_datastore_sdk::config::ConfigCheck;
use swamp_datastore_sdk::serde_json::Value;

/// The bucket rule's message, word for word from the original.
pub const BUCKET_MESSAGE: &str = "Bucket names must be 3-63 characters, lowercase, and contain only letters, numbers, hyphens, and dots";

/// Default concurrency of downloads and uploads (as the original).
pub const DEFAULT_PULL_CONCURRENCY: u64 = 50;
/// Default concurrency of uploads and deletes.
pub const DEFAULT_PUSH_CONCURRENCY: u64 = 25;
/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

const FIELDS: &[&str] = &[
    "bucket",
    "prefix",
    "region",
    "endpoint",
    "forcePathStyle",
    "pullConcurrency",
    "pushConcurrency",
    "requestTimeoutMs",
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
];

/// The config schema (JSON Schema 2020-12) with the sandbox annotations:
/// `endpoint` is the only HTTP authority the guest may reach, and the AWS
/// credential variables are passed through.
pub const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "S3-compatible datastore",
  "type": "object",
  "additionalProperties": false,
  "required": ["bucket"],
  "x-swamp-env": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"],
  "properties": {
    "bucket": {
      "type": "string",
      "minLength": 3,
      "maxLength": 63,
      "pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
      "description": "Bucket names must be 3-63 characters, lowercase, and contain only letters, numbers, hyphens, and dots"
    },
    "prefix": {"type": "string", "description": "Key prefix inside the bucket, joined with '/' (not normalised, as the original)"},
    "region": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "default": "us-east-1", "x-swamp-aws-region": true, "description": "Signing region (lowercase letters, digits, hyphens; it becomes part of the AWS host name); default us-east-1"},
    "endpoint": {
      "type": "string",
      "format": "uri",
      "pattern": "^https?://[^/?#]+/?$",
      "x-swamp-endpoint": true,
      "description": "S3-compatible endpoint URL (scheme, host, optional port); default the region's AWS endpoint. The only address the datastore may reach."
    },
    "forcePathStyle": {"type": "boolean", "description": "Address buckets as {endpoint}/{bucket} instead of {bucket}.{host}"},
    "pullConcurrency": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Downloads in flight at once (default 50)"},
    "pushConcurrency": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Uploads and deletes in flight at once (default 25)"},
    "requestTimeoutMs": {"type": "integer", "minimum": 1000, "maximum": 600000, "description": "Per-request timeout in milliseconds (default 30000)"},
    "accessKeyId": {"type": "string", "minLength": 1, "description": "Access key; default AWS_ACCESS_KEY_ID"},
    "secretAccessKey": {"type": "string", "minLength": 1, "description": "Secret key; default AWS_SECRET_ACCESS_KEY"},
    "sessionToken": {"type": "string", "minLength": 1, "description": "Session token; default AWS_SESSION_TOKEN"}
  }
}"#;

/// A validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: Option<String>,
    pub region: String,
    /// `scheme://host[:port]`, no trailing slash; `None` = AWS.
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    pub pull_concurrency: usize,
    pub push_concurrency: usize,
    pub request_timeout_ms: u64,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

/// The bucket name rule of the original.
pub fn bucket_ok(b: &str) -> bool {
    let bytes = b.as_bytes();
    let n = bytes.len();
    let inner = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-';
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&n) && edge(bytes[0]) && edge(bytes[n - 1]) && bytes.iter().all(|c| inner(*c))
}

/// Why `raw` is not a usable endpoint, or its normalised form.
fn endpoint(raw: &str) -> std::result::Result<String, String> {
    let u =
        url::Url::parse(raw).map_err(|e| format!("'endpoint' must be a URL, got {raw:?} ({e})"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("'endpoint' must use http or https, got {raw:?}"));
    }
    let Some(host) = u.host_str() else {
        return Err(format!("'endpoint' must name a host, got {raw:?}"));
    };
    if !(u.path() == "/" || u.path().is_empty()) || u.query().is_some() || u.fragment().is_some() {
        return Err(format!(
            "'endpoint' must be scheme://host[:port] without a path or query, got {raw:?}"
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(
            "'endpoint' must not carry credentials; use accessKeyId/secretAccessKey".into(),
        );
    }
    Ok(match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    })
}

impl S3Config {
    /// Validate `config`, reporting every problem with its JSON Pointer.
    pub fn parse(config: &Value) -> Result<S3Config> {
        let mut c = ConfigCheck::new(config);
        let bucket = c.required_string("bucket");
        if let Some(b) = &bucket
            && !bucket_ok(b)
        {
            c.problem("/bucket", BUCKET_MESSAGE);
        }
        let prefix = c.optional_string("prefix");
        let region = c.optional_string("region");
        if let Some(r) = &region {
            let ok = r
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                c.problem(
                    "/region",
                    format!("'region' must be lowercase letters, digits and hyphens (like us-east-1), got {r:?}"),
                );
            }
        }
        let endpoint_raw = c.optional_string("endpoint");
        let endpoint = match endpoint_raw.as_deref().map(endpoint) {
            Some(Ok(e)) => Some(e),
            Some(Err(m)) => {
                c.problem("/endpoint", m);
                None
            }
            None => None,
        };
        let force_path_style = c.optional_bool("forcePathStyle").unwrap_or(false);
        let pull = c
            .optional_u64_in("pullConcurrency", 1, 1000)
            .unwrap_or(DEFAULT_PULL_CONCURRENCY);
        let push = c
            .optional_u64_in("pushConcurrency", 1, 1000)
            .unwrap_or(DEFAULT_PUSH_CONCURRENCY);
        let timeout = c
            .optional_u64_in("requestTimeoutMs", 1000, 600_000)
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS);
        let access_key_id = c.optional_string("accessKeyId");
        let secret_access_key = c.optional_string("secretAccessKey");
        let session_token = c.optional_string("sessionToken");
        for (f, v) in [
            ("accessKeyId", &access_key_id),
            ("secretAccessKey", &secret_access_key),
            ("sessionToken", &session_token),
        ] {
            if v.as_deref() == Some("") {
                c.problem(format!("/{f}"), format!("'{f}' must not be empty"));
            }
        }
        match (&access_key_id, &secret_access_key) {
            (Some(_), None) => c.problem(
                "/secretAccessKey",
                "'secretAccessKey' is required when 'accessKeyId' is set",
            ),
            (None, Some(_)) => c.problem(
                "/accessKeyId",
                "'accessKeyId' is required when 'secretAccessKey' is set",
            ),
            _ => {}
        }
        c.deny_unknown(FIELDS);
        c.finish()?;
        Ok(S3Config {
            bucket: bucket.unwrap_or_default(),
            prefix,
            region: region.unwrap_or_else(|| DEFAULT_REGION.to_string()),
            endpoint,
            force_path_style,
            pull_concurrency: pull as usize,
            push_concurrency: push as usize,
            request_timeout_ms: timeout,
            access_key_id,
            secret_access_key,
            session_token,
        })
    }

    /// The object key of `key` under the configured prefix: `{prefix}/{key}`
    /// (joined with one `/`, not normalised, as the original does).
    pub fn full_key(&self, key: &str) -> String {
        match &self.prefix {
            Some(p) if !p.is_empty() => format!("{p}/{key}"),
            _ => key.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swamp_datastore_sdk::Error;
    use swamp_datastore_sdk::serde_json::json;

    fn problems(v: Value) -> Vec<(String, String)> {
        match S3Config::parse(&v) {
            Err(Error::InvalidConfig(p)) => p.into_iter().map(|p| (p.path, p.message)).collect(),
            other => panic!("expected invalid-config for {v}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_originals_configs_with_defaults() {
        let c = S3Config::parse(&json!({"bucket": "my-bucket"})).unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(
            (c.pull_concurrency, c.push_concurrency, c.request_timeout_ms),
            (50, 25, 30_000)
        );
        assert!(!c.force_path_style && c.endpoint.is_none() && c.prefix.is_none());
        let c = S3Config::parse(&json!({
            "bucket": "b.with.dots", "prefix": "team/a", "region": "eu-west-1",
            "endpoint": "http://127.0.0.1:9000/", "forcePathStyle": true,
            "pullConcurrency": 1000, "pushConcurrency": 1, "requestTimeoutMs": 1000,
            "accessKeyId": "AK", "secretAccessKey": "SK", "sessionToken": "T"
        }))
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.full_key(".datastore.lock"), "team/a/.datastore.lock");
    }

    #[test]
    fn rejects_what_the_original_rejects_with_its_message() {
        for bad in ["ab", "MyBucket", "-abc", "abc-", "a_b_c", &"a".repeat(64)] {
            let p = problems(json!({ "bucket": bad }));
            assert_eq!(
                p,
                vec![("/bucket".to_string(), BUCKET_MESSAGE.to_string())],
                "{bad}"
            );
        }
        assert_eq!(problems(json!({}))[0].0, "/bucket");
        assert_eq!(
            problems(json!({"bucket": "abc", "endpoint": "not a url"}))[0].0,
            "/endpoint"
        );
        assert_eq!(
            problems(json!({"bucket": "abc", "endpoint": "ftp://x"}))[0].0,
            "/endpoint"
        );
        assert_eq!(
            problems(json!({"bucket": "abc", "endpoint": "http://x/path"}))[0].0,
            "/endpoint"
        );
    }

    #[test]
    fn lists_every_problem_and_rejects_unknown_keys() {
        let p = problems(json!({
            "bucket": "AB", "pullConcurrency": 0, "pushConcurrency": 1001,
            "requestTimeoutMs": 999, "forcePathStyle": "yes", "accessKeyId": "AK",
            "forcePathstyle": true
        }));
        let paths: Vec<&str> = p.iter().map(|(p, _)| p.as_str()).collect();
        for want in [
            "/bucket",
            "/pullConcurrency",
            "/pushConcurrency",
            "/requestTimeoutMs",
            "/forcePathStyle",
            "/secretAccessKey",
            "/forcePathstyle",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
    }

    #[test]
    fn schema_is_json_and_marks_the_sandbox() {
        let s: Value = swamp_datastore_sdk::serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(s["properties"]["endpoint"]["x-swamp-endpoint"], json!(true));
        assert_eq!(s["x-swamp-env"].as_array().unwrap().len(), 3);
        assert_eq!(s["additionalProperties"], json!(false));
        for f in FIELDS {
            assert!(s["properties"].get(*f).is_some(), "{f} not in schema");
        }
    }

    #[test]
    fn bucket_rule_matches_the_regex() {
        assert!(bucket_ok("abc") && bucket_ok("a.b-c") && bucket_ok(&"a".repeat(63)));
        assert!(!bucket_ok("ab") && !bucket_ok("Abc") && !bucket_ok(".ab") && !bucket_ok("ab."));
    }
}
