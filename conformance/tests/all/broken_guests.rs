//! Proof that the checks can fail: each deliberately broken guest under
//! `guest/test-guests/broken/` (fs-datastore wrong in exactly one way) runs
//! the whole suite, and the set of failing checks must be exactly the one
//! written below; fs-datastore itself fails none. Every check of the
//! catalogue is failed by some broken guest, or listed in
//! [`NO_BROKEN_GUEST`] with the reason none can exist.
//!
//! The guests are built once, in one cargo invocation, into
//! `target/wasm32-wasip2/release/broken_<name>.wasm`, and checked a few at
//! a time (most of a lock check is waiting).

use conformance::{Filter, Report, Status, Subject};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use swamp_host::{Host, HostOptions};

/// Plain: a local datastore (no sync service, every sync check skipped).
/// Cache: a share with a local cache and a sync service.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Plain,
    Cache,
}
use Mode::{Cache, Plain};

/// One guest, the mode its break needs, and exactly the checks it fails.
struct Row {
    guest: &'static str,
    mode: Mode,
    fails: &'static [&'static str],
}

const fn row(guest: &'static str, mode: Mode, fails: &'static [&'static str]) -> Row {
    Row { guest, mode, fails }
}

/// Every check that opens a provider with a valid config (what a
/// create-provider refusing every config fails).
const NEEDS_A_PROVIDER: &[&str] = &[
    "export.create-provider",
    "export.resolve-datastore-path",
    "export.create-lock",
    "export.create-verifier",
    "export.features-consistent",
    "export.construction-side-effect-free",
    "export.namespace-claims",
    "config.valid-accepted-by-provider",
    "lock.inspect-null-before-acquire",
    "lock.inspect-after-acquire",
    "lock.release-then-null",
    "lock.with-lock-returns-value",
    "lock.with-lock-releases-on-error",
    "lock.force-release-right-nonce",
    "lock.force-release-wrong-nonce",
    "lock.fresh-nonce-per-acquire",
    "lock.double-acquire-refused",
    "lock.mutual-exclusion",
    "lock.timeout-names-holder",
    "lock.expired-taken-over",
    "lock.heartbeat-keeps-alive",
    "lock.lost-heartbeat-fenced",
    "lock.lost-release-keeps-successor",
    "lock.release-by-non-holder",
    "lock.keys-independent",
    "lock.where-swamp-puts-it",
    "lock.corrupt-file-held",
    "lock.keys-not-flattened",
    "lock.stale-by-holders-ttl",
    "lock.max-wait-zero",
    "lock.force-release-wrong-nonce-expired",
    "lock.heartbeat-after-force-release",
    "verifier.result-well-formed",
    "verifier.healthy",
    "verifier.unhealthy",
    "verifier.missing-directory",
    "verifier.latency-non-negative",
    "verifier.no-leftovers",
    "verifier.read-only-datastore",
    "sync.callable",
    "sync.capabilities-well-formed",
    "sync.unadvertised-unsupported",
    "sync.round-trip",
    "sync.counts-exact",
    "sync.zero-diff-push",
    "sync.zero-diff-pull",
    "sync.same-size-edit",
    "sync.deletion-propagates",
    "sync.pull-keeps-local-edits",
    "sync.pull-keeps-new-local-files",
    "sync.bulk-mark-pushes-deletions",
    "sync.marked-directory-deep",
    "sync.generated-tree",
    "sync.timeout-honoured",
    "sync.concurrent-writers",
    "sync.rule1-mark-before-write",
    "sync.rule2-absence-deletes",
    "sync.rule3-bulk-full-walk",
    "sync.rule4-restart",
    "sync.rule5-nested-rel-path",
    "sync.rule6-idempotent-marks",
    "sync.rule7-rel-path-only-on-mark-dirty",
    "sync.rule8-bulk-overrides-path",
    "sync.bad-rel-paths-refused",
    "sync.metadata-only-pull",
    "sync.hydrate-file",
    "sync.hydrate-atomic",
    "sync.scoped-pull",
    "sync.push-ignores-scope",
    "sync.namespaces-apart",
    "sync.two-phase",
    "sync.preview-push",
    "sync.hostile-index",
    "sync.download-verified",
    "shared.control-round-trip",
    "shared.control-namespaces-apart",
    "shared.control-put-if-absent-atomic",
    "shared.control-keys-refused",
    "shared.catalog-export",
    "shared.foreign-content",
    "shared.contamination-repair",
];

const ROWS: &[Row] = &[
    // The reference: fails nothing, in both modes.
    row("fs-datastore", Plain, &[]),
    row("fs-datastore", Cache, &[]),
    // --- export
    row("reserved-type", Plain, &["export.type-not-reserved"]),
    row("bad-type-format", Plain, &["export.type-format"]),
    row("empty-name", Plain, &["export.name"]),
    row("empty-description", Plain, &["export.description"]),
    row("schema-type-not-object", Plain, &["export.config-schema"]),
    row("create-provider-fails", Plain, NEEDS_A_PROVIDER),
    row(
        "datastore-path-empty-for-unknown-repo",
        Plain,
        &["export.resolve-datastore-path"],
    ),
    row("default-ttl-wrong", Plain, &["export.create-lock"]),
    row(
        "verifier-unsupported",
        Plain,
        &[
            "export.create-verifier",
            "export.construction-side-effect-free",
            "verifier.result-well-formed",
            "verifier.healthy",
            "verifier.unhealthy",
            "verifier.missing-directory",
            "verifier.latency-non-negative",
            "verifier.no-leftovers",
            "verifier.read-only-datastore",
        ],
    ),
    row("features-lie", Plain, &["export.features-consistent"]),
    row(
        "construction-writes",
        Plain,
        &["export.construction-side-effect-free"],
    ),
    // --- config
    row(
        "schema-accepts-anything",
        Plain,
        &[
            "config.invalid-rejected-by-schema",
            "config.generated-rejected-by-schema",
        ],
    ),
    row(
        "schema-requires-cache",
        Cache,
        &[
            "config.valid-accepted-by-schema",
            "config.valid-accepted-by-provider",
            "config.generated-rejected-by-provider",
        ],
    ),
    row(
        "provider-requires-cache",
        Cache,
        &["config.valid-accepted-by-provider"],
    ),
    row(
        "provider-accepts-unknown-fields",
        Plain,
        &[
            "config.invalid-rejected-by-provider",
            "config.generated-rejected-by-provider",
        ],
    ),
    row(
        "namespace-claim-replaced",
        Plain,
        &["export.namespace-claims"],
    ),
    // --- lock
    row("lock-check-then-create", Plain, &["lock.mutual-exclusion"]),
    row(
        "two-holders",
        Plain,
        &[
            "lock.mutual-exclusion",
            "lock.timeout-names-holder",
            "lock.expired-taken-over",
            "lock.heartbeat-keeps-alive",
            "lock.stale-by-holders-ttl",
            "lock.max-wait-zero",
        ],
    ),
    row(
        "release-no-nonce-check",
        Plain,
        &["lock.lost-release-keeps-successor"],
    ),
    row(
        "heartbeat-no-fencing",
        Plain,
        &[
            "lock.lost-heartbeat-fenced",
            "lock.heartbeat-after-force-release",
        ],
    ),
    row(
        "force-release-ignores-nonce",
        Plain,
        &[
            "lock.force-release-wrong-nonce",
            "lock.lost-release-keeps-successor",
            "lock.force-release-wrong-nonce-expired",
        ],
    ),
    row(
        "force-release-never",
        Plain,
        &[
            "lock.force-release-right-nonce",
            "lock.force-release-wrong-nonce-expired",
            "lock.heartbeat-after-force-release",
        ],
    ),
    row(
        "release-not-idempotent",
        Plain,
        &["lock.release-then-null", "lock.release-by-non-holder"],
    ),
    row("inspect-epoch-time", Plain, &["lock.inspect-after-acquire"]),
    row(
        "inspect-only-own",
        Plain,
        &[
            "lock.with-lock-returns-value",
            "lock.force-release-wrong-nonce-expired",
            "lock.corrupt-file-held",
        ],
    ),
    row(
        "inspect-phantom-before-acquire",
        Plain,
        &[
            "lock.inspect-null-before-acquire",
            "lock.keys-independent",
            "lock.force-release-wrong-nonce-expired",
            "lock.heartbeat-after-force-release",
            "lock.corrupt-file-held",
        ],
    ),
    row(
        "handle-single-use",
        Plain,
        &[
            "lock.with-lock-releases-on-error",
            "lock.force-release-right-nonce",
            "lock.fresh-nonce-per-acquire",
            "lock.mutual-exclusion",
        ],
    ),
    row("nonce-reused", Plain, &["lock.fresh-nonce-per-acquire"]),
    row("reentrant-acquire", Plain, &["lock.double-acquire-refused"]),
    row(
        "timeout-without-holder",
        Plain,
        &["lock.timeout-names-holder"],
    ),
    row(
        "stale-never-taken-over",
        Plain,
        &[
            "lock.expired-taken-over",
            "lock.lost-heartbeat-fenced",
            "lock.lost-release-keeps-successor",
            "lock.stale-by-holders-ttl",
        ],
    ),
    row(
        "heartbeat-does-not-extend",
        Plain,
        &["lock.heartbeat-keeps-alive"],
    ),
    row(
        "lock-key-ignored",
        Plain,
        &[
            "lock.keys-independent",
            "lock.keys-not-flattened",
            "lock.corrupt-file-held",
            "lock.where-swamp-puts-it",
        ],
    ),
    // --- verifier
    row(
        "verifier-always-healthy",
        Plain,
        &[
            "verifier.unhealthy",
            "verifier.missing-directory",
            "verifier.read-only-datastore",
        ],
    ),
    row("verifier-never-healthy", Plain, &["verifier.healthy"]),
    row("verifier-leaves-probe", Plain, &["verifier.no-leftovers"]),
    row(
        "verifier-stat-only",
        Plain,
        &["verifier.read-only-datastore"],
    ),
    row(
        "verifier-wrong-type",
        Plain,
        &["verifier.result-well-formed", "verifier.unhealthy"],
    ),
    row(
        "lock-path-flattened",
        Plain,
        &[
            "lock.keys-not-flattened",
            "lock.corrupt-file-held",
            "lock.where-swamp-puts-it",
        ],
    ),
    row(
        "lock-file-elsewhere",
        Plain,
        &["lock.where-swamp-puts-it", "lock.corrupt-file-held"],
    ),
    row("corrupt-lock-deleted", Plain, &["lock.corrupt-file-held"]),
    row("stale-by-own-ttl", Plain, &["lock.stale-by-holders-ttl"]),
    row("deadline-before-first-try", Plain, &["lock.max-wait-zero"]),
    row(
        "force-release-expired-any-nonce",
        Plain,
        &["lock.force-release-wrong-nonce-expired"],
    ),
    row(
        "heartbeat-recreates",
        Plain,
        &["lock.heartbeat-after-force-release"],
    ),
    // --- sync
    row(
        "push-ignores-marks",
        Cache,
        &[
            "sync.counts-exact",
            "sync.same-size-edit",
            "sync.deletion-propagates",
            "sync.rule1-mark-before-write",
            "sync.rule2-absence-deletes",
            "sync.rule4-restart",
            "sync.rule5-nested-rel-path",
            "sync.rule7-rel-path-only-on-mark-dirty",
            "sync.hydrate-atomic",
            "sync.push-ignores-scope",
            "sync.marked-directory-deep",
            "sync.pull-keeps-new-local-files",
            "sync.concurrent-writers",
            "sync.preview-push",
            "sync.two-phase",
            "sync.generated-tree",
        ],
    ),
    row(
        "pull-compares-sizes",
        Cache,
        &["sync.same-size-edit", "sync.generated-tree"],
    ),
    row("hydrate-in-place", Cache, &["sync.hydrate-atomic"]),
    row(
        "push-never-deletes",
        Cache,
        &[
            "sync.counts-exact",
            "sync.deletion-propagates",
            "sync.rule2-absence-deletes",
            "sync.bulk-mark-pushes-deletions",
            "sync.generated-tree",
            // Its store deletes nothing, so control deletes and repairs
            // are lost too.
            "shared.control-round-trip",
            "shared.control-namespaces-apart",
            "shared.contamination-repair",
        ],
    ),
    row("scope-ignored", Cache, &["sync.scoped-pull"]),
    row(
        "push-scoped-by-context",
        Cache,
        &["sync.push-ignores-scope"],
    ),
    row("namespace-ignored", Cache, &["sync.namespaces-apart"]),
    row(
        "pull-mirrors-remote",
        Cache,
        &["sync.pull-keeps-new-local-files"],
    ),
    row(
        "bulk-mark-per-file",
        Cache,
        &["sync.bulk-mark-pushes-deletions"],
    ),
    row("index-write-no-cas", Cache, &["sync.concurrent-writers"]),
    row("big-downloads-truncated", Cache, &["sync.generated-tree"]),
    row("timeout-ignored", Cache, &["sync.timeout-honoured"]),
    row(
        "marked-dir-one-level",
        Cache,
        &["sync.marked-directory-deep"],
    ),
    row("metadata-only-ignored", Cache, &["sync.metadata-only-pull"]),
    row("hydrate-always-true", Cache, &["sync.hydrate-file"]),
    row("preview-miscounts", Cache, &["sync.preview-push"]),
    row(
        "preview-unadvertised",
        Cache,
        &["sync.unadvertised-unsupported"],
    ),
    row(
        "capabilities-unstable",
        Cache,
        &["sync.capabilities-well-formed"],
    ),
    row(
        "two-phase-commit-noop",
        Cache,
        &["sync.two-phase", "sync.push-ignores-scope"],
    ),
    row(
        "pull-fails-on-empty-remote",
        Cache,
        // A v2 index has no monolith: hostile metas look like "no index".
        &[
            "sync.callable",
            "sync.namespaces-apart",
            "sync.hostile-index",
        ],
    ),
    row(
        "push-rel-path-filter",
        Cache,
        &["sync.rule7-rel-path-only-on-mark-dirty"],
    ),
    row(
        "bulk-overridden-by-path",
        Cache,
        &["sync.rule8-bulk-overrides-path"],
    ),
    row("marks-in-memory", Cache, &["sync.rule4-restart"]),
    row(
        "deep-marks-dropped",
        Cache,
        &["sync.rule5-nested-rel-path", "sync.generated-tree"],
    ),
    row(
        "bad-rel-paths-accepted",
        Cache,
        &["sync.bad-rel-paths-refused"],
    ),
    row(
        "pull-overwrites-local-edits",
        Cache,
        &["sync.pull-keeps-local-edits"],
    ),
    row(
        "push-counts-walked",
        Cache,
        &[
            "sync.zero-diff-push",
            "sync.rule3-bulk-full-walk",
            "sync.rule6-idempotent-marks",
            "sync.rule8-bulk-overrides-path",
            "sync.bulk-mark-pushes-deletions",
        ],
    ),
    row(
        "pull-counts-all",
        Cache,
        &[
            "sync.counts-exact",
            "sync.zero-diff-pull",
            "sync.same-size-edit",
            "sync.rule3-bulk-full-walk",
            "sync.rule5-nested-rel-path",
            "sync.rule6-idempotent-marks",
            "sync.rule7-rel-path-only-on-mark-dirty",
            "sync.generated-tree",
        ],
    ),
    row(
        "push-count-omits-deletions",
        Cache,
        &[
            "sync.counts-exact",
            "sync.deletion-propagates",
            "sync.rule2-absence-deletes",
            "sync.preview-push",
            "sync.bulk-mark-pushes-deletions",
            "sync.generated-tree",
        ],
    ),
    row(
        "fresh-pull-counts-zero",
        Cache,
        &[
            "sync.round-trip",
            "sync.counts-exact",
            "sync.generated-tree",
            "sync.hostile-index",
        ],
    ),
    // A download that fails its sha256 is corrupt-data too: "rebuilt".
    row(
        "corrupt-index-rebuilt",
        Cache,
        &["sync.hostile-index", "sync.download-verified"],
    ),
    row("downloads-unverified", Cache, &["sync.download-verified"]),
    // --- shared store
    row(
        "control-list-full-keys",
        Cache,
        &[
            "shared.control-round-trip",
            "shared.control-namespaces-apart",
            "shared.control-keys-refused",
        ],
    ),
    row(
        "control-ignores-namespace",
        Cache,
        &[
            "shared.control-namespaces-apart",
            "shared.control-keys-refused",
        ],
    ),
    row(
        "control-put-if-absent-racy",
        Cache,
        &["shared.control-put-if-absent-atomic"],
    ),
    row(
        "control-keys-unchecked",
        Cache,
        &["shared.control-keys-refused"],
    ),
    row(
        "catalog-export-always-writes",
        Cache,
        &["shared.catalog-export"],
    ),
    row(
        "catalog-malformed-not-skipped",
        Cache,
        &["shared.catalog-export"],
    ),
    row(
        "foreign-content-ignores-namespace",
        Cache,
        &["shared.foreign-content"],
    ),
    row(
        "repair-dry-run-deletes",
        Cache,
        &["shared.contamination-repair"],
    ),
];

/// Checks no broken guest fails, each with the reason none can exist.
const NO_BROKEN_GUEST: &[&str] = &[];

// verifier.latency-non-negative: no guest built on the SDK can report a
// negative latency (the SDK clamps latency-ms to a finite value >= 0 at the
// WIT boundary, guest/sdk/src/export/convert.rs). The check guards
// components written against the raw bindings, so its proof is the
// raw-bindings hostile guest in `negative_latency_from_a_raw_guest_fails`.

/// A raw-bindings guest reporting a negative latency fails
/// verifier.latency-non-negative; the same guest with a sound latency passes.
#[tokio::test(flavor = "multi_thread")]
async fn negative_latency_from_a_raw_guest_fails() {
    let host = Host::new(HostOptions {
        cache_dir: None,
        ..HostOptions::default()
    })
    .unwrap();
    let wasm = swamp_host::artifacts::guest("hostile-guest").unwrap();
    let plugin = host.load(&wasm).await.unwrap();
    let only = Filter {
        suites: vec![],
        ids: vec!["verifier.latency-non-negative".into()],
    };
    for (attack, should_fail) in [("negative-latency", true), ("noop", false)] {
        let work = tempfile::tempdir().unwrap();
        let subject = Subject::new(
            plugin.clone(),
            json!({"attack": attack}),
            work.path().into(),
        );
        let report = conformance::run(&subject, &only).await;
        assert_eq!(report.checks.len(), 1);
        let failed = matches!(report.checks[0].status, Status::Fail(_));
        assert_eq!(
            failed, should_fail,
            "{attack}: {:?}",
            report.checks[0].status
        );
    }
}

/// How many suites run at once. Most of a lock check is sleeping, so a few
/// more than the cores keeps the machine busy without starving timing.
const PARALLEL: usize = 4;

/// Build fs-datastore and every broken guest in one cargo invocation (they
/// share the library crate `fs-datastore-core`, so it compiles once).
fn build_guests() -> PathBuf {
    swamp_host::artifacts::ensure_wasm_target().unwrap_or_else(|e| panic!("{e}"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut args: Vec<String> = ["build", "--release", "--target", "wasm32-wasip2"]
        .map(String::from)
        .to_vec();
    for r in ROWS {
        args.push("-p".into());
        args.push(if r.guest == "fs-datastore" {
            r.guest.to_string()
        } else {
            format!("broken-{}", r.guest)
        });
    }
    let out = Command::new(cargo)
        .current_dir(swamp_host::artifacts::workspace_root())
        .args(&args)
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "building the guests failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    swamp_host::artifacts::wasm_dir()
}

fn wasm_of(dir: &Path, guest: &str) -> PathBuf {
    if guest == "fs-datastore" {
        dir.join("fs_datastore.wasm")
    } else {
        dir.join(format!("broken_{}.wasm", guest.replace('-', "_")))
    }
}

fn fs_config(path: &Path, cache: bool) -> Value {
    if cache {
        json!({"path": path, "cache": true})
    } else {
        json!({"path": path})
    }
}

/// The whole suite on `wasm`, set up as `fs_datastore.rs` does.
async fn run_suite(host: &Host, wasm: &Path, mode: Mode) -> Report {
    let cache = matches!(mode, Cache);
    let plugin = host
        .load(wasm)
        .await
        .unwrap_or_else(|e| panic!("loading {}: {e}", wasm.display()));
    let work = tempfile::tempdir().unwrap();
    let datastore = work.path().join("datastore");
    std::fs::create_dir_all(&datastore).unwrap();
    let mut subject = Subject::new(
        plugin,
        fs_config(&datastore, cache),
        work.path().join("scratch"),
    );
    subject.valid_configs.push(fs_config(&datastore, !cache));
    // One tree for every guest, so each fails the same checks every run.
    subject.seed = 1;
    let file = work.path().join("not-a-directory");
    std::fs::write(&file, b"a file").unwrap();
    subject.unhealthy_configs = vec![
        (
            "missing directory".into(),
            fs_config(&work.path().join("missing"), cache),
        ),
        ("path is a file".into(), fs_config(&file, cache)),
    ];
    subject.invalid_configs = vec![
        json!({}),
        json!({"path": "relative/dir"}),
        json!({"path": 42}),
        json!({"path": "/abs", "cache": "yes"}),
        json!({"path": "/abs", "unknown": true}),
    ];
    conformance::run(&subject, &Filter::default()).await
}

/// What a report got wrong against a row, or None.
fn mismatch(row: &Row, report: &Report) -> Option<String> {
    let failed: BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail(_)))
        .map(|c| c.id)
        .collect();
    let expected: BTreeSet<&str> = row.fails.iter().copied().collect();
    if failed == expected && report.checks.len() == conformance::catalogue().len() {
        return None;
    }
    let reason = |id: &str| {
        report
            .checks
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.status.message().to_string())
            .unwrap_or_default()
    };
    let mut out = format!("{} ({:?}):", row.guest, row.mode);
    for id in failed.difference(&expected) {
        out.push_str(&format!("\n  unexpected failure {id}: {}", reason(id)));
    }
    for id in expected.difference(&failed) {
        out.push_str(&format!(
            "\n  missing failure {id} (it {}: {})",
            report
                .checks
                .iter()
                .find(|c| c.id == *id)
                .map_or("did not run", |c| c.status.name()),
            reason(id)
        ));
    }
    out.push_str(&format!("\n  all failing: {failed:?}"));
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_broken_guest_fails_exactly_its_checks() {
    let started = std::time::Instant::now();
    let dir = build_guests();
    eprintln!("guests built in {:.1}s", started.elapsed().as_secs_f64());
    let host = Host::new(HostOptions::default()).expect("host");
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for (i, r) in ROWS.iter().enumerate() {
        let (host, permits, wasm) = (host.clone(), permits.clone(), wasm_of(&dir, r.guest));
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let t = std::time::Instant::now();
            let report = run_suite(&host, &wasm, ROWS[i].mode).await;
            eprintln!(
                "{} ({:?}) in {:.1}s",
                ROWS[i].guest,
                ROWS[i].mode,
                t.elapsed().as_secs_f64()
            );
            mismatch(&ROWS[i], &report)
        }));
    }
    let mut problems = Vec::new();
    for t in tasks {
        if let Some(p) = t.await.expect("a suite task panicked") {
            problems.push(p);
        }
    }
    eprintln!(
        "{} suites in {:.1}s",
        ROWS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} guest(s) did not fail exactly their checks:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_check_is_failed_by_some_broken_guest() {
    let catalogue: BTreeSet<&str> = conformance::catalogue().iter().map(|c| c.0).collect();
    let tripped: BTreeSet<&str> = ROWS.iter().flat_map(|r| r.fails.iter().copied()).collect();
    let excused: BTreeSet<&str> = NO_BROKEN_GUEST.iter().copied().collect();
    for id in tripped.iter().chain(&excused) {
        assert!(
            catalogue.contains(id),
            "{id} is not a check of the catalogue"
        );
    }
    let both: Vec<_> = tripped.intersection(&excused).collect();
    assert!(
        both.is_empty(),
        "in NO_BROKEN_GUEST but failed by a broken guest: {both:?}"
    );
    let uncovered: Vec<_> = catalogue
        .iter()
        .filter(|id| !tripped.contains(*id) && !excused.contains(*id))
        .collect();
    assert!(
        uncovered.is_empty(),
        "no broken guest fails these checks (write one, or list it in NO_BROKEN_GUEST with why none can exist): {uncovered:?}"
    );
    // Every broken guest crate is in the table, once.
    let dir = swamp_host::artifacts::workspace_root().join("guest/test-guests/broken");
    let crates: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "common")
        .collect();
    let rows: BTreeSet<String> = ROWS
        .iter()
        .filter(|r| r.guest != "fs-datastore")
        .map(|r| r.guest.to_string())
        .collect();
    assert_eq!(crates, rows, "guest crates vs table rows");
    assert_eq!(
        rows.len(),
        ROWS.len() - 2,
        "a broken guest appears twice in the table"
    );
}
