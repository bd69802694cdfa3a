//! The whole conformance suite against the real `s3-datastore` component on
//! a SeaweedFS started by the test: every check must pass or be skipped
//! with a reason, and the sync checks must really run (s3-datastore has a
//! sync service). Each check gets a prefix of its own (`isolate_by:
//! "prefix"`), so exact counts hold.

use std::sync::Arc;

use conformance::raw_store::RawStore;
use conformance::{Filter, Format, Status, Subject, Suite};
use seaweedfs_fixture::SeaweedFs;
use serde_json::{Value, json};
use swamp_host::{Host, HostOptions};

const BUCKET: &str = "conformance";

/// The config of `bucket` on `s3` under the prefix `conformance`.
fn config(s3: &SeaweedFs, bucket: &str) -> Value {
    let mut config = s3.datastore_config(bucket, "conformance");
    config["requestTimeoutMs"] = json!(5000);
    config
}

/// The bucket beneath the component, for the checks that plant or alter
/// stored objects: a key is `{prefix}/{key}`, as swamp's S3 datastore keeps
/// it.
struct Bucket(Arc<SeaweedFs>);

impl Bucket {
    fn key(config: &Value, key: &str) -> String {
        match config["prefix"].as_str() {
            Some(p) if !p.is_empty() => format!("{p}/{key}"),
            _ => key.to_string(),
        }
    }
}

impl RawStore for Bucket {
    fn get(&self, config: &Value, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.get_object(BUCKET, &Self::key(config, key))
    }
    fn put(&self, config: &Value, key: &str, bytes: &[u8]) -> Result<(), String> {
        self.0.put_object(BUCKET, &Self::key(config, key), bytes)
    }
    fn describe(&self, config: &Value, key: &str) -> String {
        format!("s3://{BUCKET}/{}", Self::key(config, key))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_datastore_passes_the_whole_suite_on_seaweedfs() {
    let s3 = Arc::new(SeaweedFs::start());
    s3.create_bucket(BUCKET).unwrap();
    let wasm = std::path::PathBuf::from(test_guests_artifacts::S3_DATASTORE);
    let host = Host::new(HostOptions {
        cache_dir: None,
        env_source: Arc::new(|_| None),
        ..HostOptions::default()
    })
    .unwrap();
    let plugin = host.load(&wasm).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let main = config(&s3, BUCKET);
    let mut subject = Subject::new(plugin, main.clone(), work.path().join("scratch"));
    subject.isolate_by = Some("prefix".into());
    subject.raw_store = Some(Arc::new(Bucket(s3.clone())));

    // More valid configs: credentials from the environment are not given
    // to this host, but the provider accepts configs without them.
    let mut minimal = json!({"bucket": BUCKET, "endpoint": s3.endpoint()});
    minimal["forcePathStyle"] = json!(true);
    subject.valid_configs = vec![
        minimal,
        json!({"bucket": "my.dotted.bucket", "region": "eu-west-1"}),
        json!({"bucket": BUCKET, "prefix": "a/b", "pullConcurrency": 1, "pushConcurrency": 1000, "requestTimeoutMs": 600000}),
    ];
    subject.invalid_configs = vec![
        json!({}),
        json!({"bucket": "ab"}),
        json!({"bucket": "Upper-Case"}),
        json!({"bucket": "-starts-with-hyphen"}),
        json!({"bucket": BUCKET, "endpoint": "not a url"}),
        json!({"bucket": BUCKET, "endpoint": "ftp://127.0.0.1:21"}),
        json!({"bucket": BUCKET, "pullConcurrency": 0}),
        json!({"bucket": BUCKET, "pushConcurrency": 1001}),
        json!({"bucket": BUCKET, "requestTimeoutMs": 999}),
        json!({"bucket": BUCKET, "forcePathStyle": "yes"}),
        json!({"bucket": BUCKET, "unknown": true}),
    ];

    let mut missing_bucket = main.clone();
    missing_bucket["bucket"] = json!("no-such-bucket");
    let mut wrong_secret = main.clone();
    wrong_secret["secretAccessKey"] = json!("not-the-secret");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut unreachable = main.clone();
    unreachable["endpoint"] = json!(format!("http://127.0.0.1:{port}"));
    unreachable["requestTimeoutMs"] = json!(1000);
    subject.unhealthy_configs = vec![
        ("missing bucket".into(), missing_bucket),
        ("wrong secret key".into(), wrong_secret),
        ("unreachable endpoint (closed port)".into(), unreachable),
    ];

    let started = std::time::Instant::now();
    let report = conformance::run(&subject, &Filter::default()).await;
    let human = report.render(Format::Human);
    eprintln!(
        "s3-datastore on SeaweedFS in {:.1}s:\n{human}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        report.checks.len(),
        conformance::catalogue().len(),
        "every check ran"
    );
    let mut failed = Vec::new();
    let (mut pass, mut skipped) = (0, 0);
    for c in &report.checks {
        match &c.status {
            Status::Pass => pass += 1,
            Status::Skipped(m) if m.trim().is_empty() => {
                failed.push(format!("{}: skipped without a reason", c.id))
            }
            Status::Skipped(_) => skipped += 1,
            Status::Fail(m) => failed.push(format!("{}: {m}", c.id)),
        }
    }
    eprintln!("pass {pass}, skipped {skipped}, failed {}", failed.len());
    assert!(
        failed.is_empty(),
        "checks failed on s3-datastore:\n{}\n\nserver log:\n{}",
        failed.join("\n"),
        s3.log_tail(30)
    );
    // Only these checks may skip, each for a reason that does not apply to
    // a bucket: four inspect, mount or remove a local datastore directory
    // (covered for S3 by swamp-host's tests in swamp-host/tests/all/s3/), and
    // s3-datastore advertises every optional sync call. The checks that
    // plant or alter stored objects run through the bucket (`Bucket`).
    let skipped_ids: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Skipped(_)))
        .map(|c| c.id)
        .collect();
    assert_eq!(
        skipped_ids,
        vec![
            "export.construction-side-effect-free",
            "verifier.missing-directory",
            "verifier.no-leftovers",
            "verifier.read-only-datastore",
            "sync.unadvertised-unsupported",
        ],
        "{human}"
    );
    let sync_ran = report
        .checks
        .iter()
        .filter(|c| c.suite == Suite::Sync && c.status == Status::Pass)
        .count();
    assert!(sync_ran >= 25, "only {sync_ran} sync checks passed");
    for id in [
        "sync.round-trip",
        "sync.counts-exact",
        "sync.namespaces-apart",
        "lock.mutual-exclusion",
        "lock.heartbeat-keeps-alive",
        "lock.expired-taken-over",
        "verifier.unhealthy",
        "config.generated-rejected-by-provider",
        "lock.where-swamp-puts-it",
        "lock.corrupt-file-held",
        "sync.hostile-index",
        "sync.download-verified",
        "shared.control-round-trip",
        "shared.control-namespaces-apart",
        "shared.control-put-if-absent-atomic",
        "shared.control-keys-refused",
        "shared.catalog-export",
        "shared.foreign-content",
        "shared.contamination-repair",
    ] {
        let c = report.checks.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.status, Status::Pass, "{id}");
    }
}
