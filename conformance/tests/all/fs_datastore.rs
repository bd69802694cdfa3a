//! The whole suite against the real `fs-datastore` component, as a plain
//! local datastore and in cache mode (a share with a local cache and a sync
//! service): every check must pass or be skipped with a reason. Also the
//! README's walkthrough datastore, `guest/examples/dir-datastore`, which
//! locks with the same SDK store (`LockDir`) in at most 60 lines.
//!
//! The component comes from `test-guests-artifacts` (built when this test
//! is compiled).

use conformance::{Filter, Format, Report, Status, Subject, Suite};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use swamp_host::{Host, HostOptions};

fn fs_datastore_wasm() -> PathBuf {
    PathBuf::from(test_guests_artifacts::FS_DATASTORE)
}

/// fs-datastore as built against `swamp:datastore@0.1.0`, checked in so
/// that every later host and WIT version is tried on it (see
/// `conformance/tests/fixtures/README.md`).
fn fs_datastore_0_1_0_wasm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fs_datastore-wit-0.1.0.wasm")
}

async fn run_suite(cache: bool) -> (Report, tempfile::TempDir) {
    run_suite_on(&fs_datastore_wasm(), cache).await
}

async fn run_suite_on(wasm: &Path, cache: bool) -> (Report, tempfile::TempDir) {
    let host = Host::new(HostOptions::default()).expect("host");
    let plugin = host.load(wasm).await.expect("loading fs-datastore");
    let work = tempfile::tempdir().unwrap();
    let subject = conformance::fs_subject::subject(plugin, work.path(), cache).unwrap();
    assert_eq!(subject.isolate_by.as_deref(), Some("path"));
    let started = std::time::Instant::now();
    let report = conformance::run(&subject, &Filter::default()).await;
    eprintln!(
        "fs-datastore ({}) in {:.1}s:\n{}",
        if cache { "cache mode" } else { "plain" },
        started.elapsed().as_secs_f64(),
        report.render(Format::Human)
    );
    (report, work)
}

fn assert_all_pass_or_skip_with_reason(report: &Report) {
    assert_passes_but(report, &[]);
}

/// As [`assert_all_pass_or_skip_with_reason`], except that each check of
/// `known` must fail, with a message holding each of its strings: a bug of
/// an old build that a later check catches, pinned so that nothing else
/// may fail.
fn assert_passes_but(report: &Report, known: &[(&str, &[&str])]) {
    for (id, words) in known {
        match status(report, id) {
            Status::Fail(m) => {
                for w in *words {
                    assert!(m.contains(w), "{id} failed, but not with {w:?}: {m}");
                }
            }
            other => panic!("{id} was expected to catch the known bug, got {other:?}"),
        }
    }
    let report = &Report {
        checks: report
            .checks
            .iter()
            .filter(|c| !known.iter().any(|(id, _)| *id == c.id))
            .cloned()
            .collect(),
    };
    assert_eq!(
        report.checks.len() + known.len(),
        conformance::catalogue().len(),
        "every check ran"
    );
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter_map(|c| match &c.status {
            Status::Fail(m) => Some(format!("{}: {m}", c.id)),
            Status::Skipped(m) if m.trim().is_empty() => {
                Some(format!("{}: skipped without a reason", c.id))
            }
            _ => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "checks failed on fs-datastore:\n{}",
        failed.join("\n")
    );
    // Machine-readable renderings of a real report.
    let json: Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
    assert_eq!(
        json["checks"].as_array().unwrap().len(),
        report.checks.len()
    );
    assert!(report.render(Format::Junit).contains("<testsuites"));
}

fn status<'a>(report: &'a Report, id: &str) -> &'a Status {
    &report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_fs_datastore_passes_every_check() {
    let (report, _work) = run_suite(false).await;
    assert_all_pass_or_skip_with_reason(&report);
    // Locally accessible: no sync service, so every sync check is skipped.
    for c in report.checks.iter().filter(|c| c.suite == Suite::Sync) {
        assert!(
            matches!(c.status, Status::Skipped(_)),
            "{} should be skipped without a sync service",
            c.id
        );
    }
    for id in [
        "lock.mutual-exclusion",
        "lock.lost-release-keeps-successor",
        "verifier.unhealthy",
        "config.generated-rejected-by-provider",
    ] {
        assert_eq!(status(&report, id), &Status::Pass, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_fs_datastore_passes_every_check() {
    let (report, _work) = run_suite(true).await;
    assert_all_pass_or_skip_with_reason(&report);
    for id in [
        "sync.round-trip",
        "sync.same-size-edit",
        "sync.rule4-restart",
        "sync.counts-exact",
        "lock.heartbeat-keeps-alive",
    ] {
        assert_eq!(status(&report, id), &Status::Pass, "{id}");
    }
    let shared: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.id.starts_with("shared."))
        .collect();
    assert_eq!(shared.len(), 7);
    for c in shared {
        assert_eq!(c.status, Status::Pass, "{}", c.id);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_built_against_wit_0_1_0_still_loads_and_passes() {
    let wasm = fs_datastore_0_1_0_wasm();
    let bytes = std::fs::read(&wasm).expect("the checked-in 0.1.0 fixture");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("swamp:datastore/datastore@0.1.0"),
        "the fixture exports the 0.1.0 interface"
    );
    for cache in [false, true] {
        let (report, _work) = run_suite_on(&wasm, cache).await;
        if cache {
            // Built before 2f4da88, it took an index entry's malformed
            // sha256 for a real one and refused the download; the hostile
            // index check added since catches exactly that case.
            assert_passes_but(
                &report,
                &[(
                    "sync.hostile-index",
                    &["1 of 46 hostile index cases", "sha-not-hex.json"],
                )],
            );
        } else {
            assert_all_pass_or_skip_with_reason(&report);
        }
        // It has no shared-store interface: those checks skip and say why.
        if cache {
            for c in report.checks.iter().filter(|c| c.id.starts_with("shared.")) {
                match &c.status {
                    Status::Skipped(why) => assert!(why.contains("WIT 0.1.0"), "{}: {why}", c.id),
                    other => panic!("{}: {other:?}", c.id),
                }
            }
        }
    }
}

/// `guest/examples/dir-datastore`: a lock and a verifier, no sync. Every
/// export, config, lock and verifier check passes (none skipped, so the
/// lock checks really ran), and the sync and shared-store checks skip
/// because there is no sync service.
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_example_passes_every_lock_and_verifier_check() {
    let wasm = PathBuf::from(test_guests_artifacts::DIR_DATASTORE);
    let host = Host::new(HostOptions::default()).expect("host");
    let plugin = host.load(&wasm).await.expect("loading dir-datastore");
    let work = tempfile::tempdir().unwrap();
    let datastore = work.path().join("datastore");
    std::fs::create_dir_all(&datastore).unwrap();
    let config = |p: &Path| json!({ "path": p });
    let mut subject = Subject::new(plugin, config(&datastore), work.path().join("scratch"));
    let file = work.path().join("not-a-directory");
    std::fs::write(&file, b"a file").unwrap();
    subject.unhealthy_configs = vec![
        ("missing directory".into(), config(&work.path().join("no"))),
        ("path is a file".into(), config(&file)),
    ];
    subject.invalid_configs = vec![
        json!({}),
        json!({"path": "relative/dir"}),
        json!({"path": 42}),
        json!({"path": "/abs", "unknown": true}),
    ];
    let report = conformance::run(&subject, &Filter::default()).await;
    eprintln!("dir-datastore:\n{}", report.render(Format::Human));
    assert_all_pass_or_skip_with_reason(&report);
    for c in &report.checks {
        let ran = !matches!(c.suite, Suite::Sync | Suite::Shared);
        match &c.status {
            Status::Pass if ran => {}
            Status::Skipped(why) if !ran => assert!(why.contains("no sync service"), "{why}"),
            // The example registers no namespaces (features() is the default).
            Status::Skipped(why) if c.id == "export.namespace-claims" => {
                assert!(why.contains("namespaces"), "{why}")
            }
            other => panic!(
                "{}: expected it to {}, got {other:?}",
                c.id,
                if ran { "pass" } else { "skip" }
            ),
        }
    }
    let lock_checks = |checks: Vec<Suite>| checks.into_iter().filter(|s| *s == Suite::Lock).count();
    let passed = report.checks.iter().filter(|c| c.status == Status::Pass);
    assert_eq!(
        lock_checks(passed.map(|c| c.suite).collect()),
        lock_checks(conformance::catalogue().into_iter().map(|c| c.1).collect()),
        "every lock check of the catalogue passed"
    );
}

/// README.md's walkthrough shows the example's `src/lib.rs` whole; the
/// two must not drift apart, and the example keeps its 60-line promise.
#[test]
fn the_readme_shows_the_example_as_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib =
        std::fs::read_to_string(root.join("guest/examples/dir-datastore/src/lib.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let fenced = format!("```rust\n// guest/examples/dir-datastore/src/lib.rs\n{lib}```\n");
    assert!(
        readme.contains(&fenced),
        "README.md must show guest/examples/dir-datastore/src/lib.rs verbatim, fenced as:\n{fenced}"
    );
    let lines = lib.lines().count();
    assert!(
        lines <= 60,
        "the example has {lines} lines of Rust, the README promises 60"
    );
    let schema =
        std::fs::read_to_string(root.join("guest/examples/dir-datastore/src/schema.json")).unwrap();
    assert!(
        readme.contains(&schema),
        "README.md must show src/schema.json verbatim"
    );
}
