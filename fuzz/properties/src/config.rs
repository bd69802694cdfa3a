//! Config validation of both bundled datastores (`FsConfig::parse`,
//! `S3Config::parse`), the guest's defence behind the host's JSON Schema
//! check: any JSON value is either a config or `invalid-config` listing
//! problems at JSON Pointers into it.

use fs_datastore_core::config::FsConfig;
use s3_datastore::config::{S3Config, bucket_ok};
use swamp_datastore_sdk::Error;
use swamp_datastore_sdk::serde_json::{self, Value, json};

/// The `config` target: the input is JSON text.
pub fn config(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match FsConfig::parse(&v) {
        Ok(c) => {
            // An accepted path is absolute, without `..` or a NUL, and
            // normalising it is idempotent.
            assert!(c.path.starts_with('/'));
            assert!(!c.path.contains('\0'));
            assert!(!c.path.split('/').any(|s| s == ".."));
            assert!(c.path == "/" || !c.path.ends_with('/'));
            let again = FsConfig::parse(&json!({"path": c.path, "cache": c.cache}));
            assert_eq!(again.as_ref(), Ok(&c));
        }
        Err(e) => assert_problems(&v, e),
    }
    match S3Config::parse(&v) {
        Ok(c) => {
            assert!(bucket_ok(&c.bucket));
            assert!((1..=1000).contains(&c.pull_concurrency));
            assert!((1..=1000).contains(&c.push_concurrency));
            assert!((1000..=600_000).contains(&c.request_timeout_ms));
            // The normalised endpoint is accepted as itself: what the host
            // grants and what the client calls are the same address.
            if let Some(e) = &c.endpoint {
                let again = S3Config::parse(&json!({"bucket": c.bucket, "endpoint": e}))
                    .unwrap_or_else(|err| panic!("normalised endpoint {e:?} refused: {err:?}"));
                assert_eq!(again.endpoint.as_deref(), Some(e.as_str()));
                assert!(!e.ends_with('/'));
            }
        }
        Err(e) => assert_problems(&v, e),
    }
}

/// A refusal is `invalid-config` with at least one problem, each at the
/// root or at a top-level JSON Pointer, with a message.
fn assert_problems(v: &Value, e: Error) {
    let Error::InvalidConfig(problems) = e else {
        panic!("a bad config must be invalid-config, got {e:?}");
    };
    assert!(!problems.is_empty());
    for p in problems {
        assert!(!p.message.is_empty());
        if p.path.is_empty() {
            continue;
        }
        assert!(p.path.starts_with('/'), "{p:?}");
        // It points at the field at fault, unless that field is missing.
        assert!(
            v.pointer(&p.path).is_some() || p.message.contains("is required"),
            "{p:?} points at nothing"
        );
    }
}
