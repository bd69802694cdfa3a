//! Proof that the checks can fail: each deliberately broken guest
//! (`guest/test-guests/src/bin/broken_<name>.rs`, fs-datastore wrong in
//! exactly one way) runs the whole suite, and the set of failing checks must
//! be exactly the one written in [`expected`]; fs-datastore itself fails
//! none. Every check of the catalogue is failed by some broken guest, or
//! listed in [`NO_BROKEN_GUEST`] with the reason none can exist.
//!
//! The components come from `test-guests-artifacts` (built when this test
//! is compiled). One test per guest (`broken_<name>`, so one guest can be
//! run by name), on libtest-mimic rather than the built-in harness: most
//! of a lock check is sleeping, so [`PARALLEL`] suites at once by default,
//! more than the built-in harness's one test per core.

use conformance::{Filter, Report, Status, Subject};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;
use swamp_host::{Host, HostOptions};
use test_guests_artifacts::{FS_DATASTORE, HOSTILE};

/// Plain: a local datastore (no sync service, every sync check skipped).
/// Cache: a share with a local cache and a sync service.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Plain,
    Cache,
}
use Mode::{Cache, Plain};

/// The mode a guest's break needs, and exactly the checks it fails.
struct Row {
    mode: Mode,
    fails: &'static [&'static str],
}

const fn row(mode: Mode, fails: &'static [&'static str]) -> Row {
    Row { mode, fails }
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

/// Exactly the checks each broken guest fails, named as its bin
/// (`guest/test-guests/src/bin/broken_<name>.rs`): `main` expands one test
/// per guest through `foreach_broken!`, so a guest with no entry here does
/// not compile, and an entry with no guest is dead code.
#[allow(non_upper_case_globals)] // each is named exactly as its guest
mod expected {
    use super::*;

    // --- export
    pub(super) const reserved_type: Row = row(Plain, &["export.type-not-reserved"]);
    pub(super) const bad_type_format: Row = row(Plain, &["export.type-format"]);
    pub(super) const empty_name: Row = row(Plain, &["export.name"]);
    pub(super) const empty_description: Row = row(Plain, &["export.description"]);
    pub(super) const schema_type_not_object: Row = row(Plain, &["export.config-schema"]);
    pub(super) const create_provider_fails: Row = row(Plain, NEEDS_A_PROVIDER);
    pub(super) const datastore_path_empty_for_unknown_repo: Row =
        row(Plain, &["export.resolve-datastore-path"]);
    pub(super) const default_ttl_wrong: Row = row(Plain, &["export.create-lock"]);
    pub(super) const verifier_unsupported: Row = row(
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
    );
    pub(super) const features_lie: Row = row(Plain, &["export.features-consistent"]);
    pub(super) const construction_writes: Row =
        row(Plain, &["export.construction-side-effect-free"]);
    // --- config
    pub(super) const schema_accepts_anything: Row = row(
        Plain,
        &[
            "config.invalid-rejected-by-schema",
            "config.generated-rejected-by-schema",
        ],
    );
    pub(super) const schema_requires_cache: Row = row(
        Cache,
        &[
            "config.valid-accepted-by-schema",
            "config.valid-accepted-by-provider",
            "config.generated-rejected-by-provider",
        ],
    );
    pub(super) const provider_requires_cache: Row =
        row(Cache, &["config.valid-accepted-by-provider"]);
    pub(super) const provider_accepts_unknown_fields: Row = row(
        Plain,
        &[
            "config.invalid-rejected-by-provider",
            "config.generated-rejected-by-provider",
        ],
    );
    pub(super) const namespace_claim_replaced: Row = row(Plain, &["export.namespace-claims"]);
    // --- lock
    pub(super) const lock_check_then_create: Row = row(Plain, &["lock.mutual-exclusion"]);
    pub(super) const two_holders: Row = row(
        Plain,
        &[
            "lock.mutual-exclusion",
            "lock.timeout-names-holder",
            "lock.expired-taken-over",
            "lock.heartbeat-keeps-alive",
            "lock.stale-by-holders-ttl",
            "lock.max-wait-zero",
        ],
    );
    pub(super) const release_no_nonce_check: Row =
        row(Plain, &["lock.lost-release-keeps-successor"]);
    pub(super) const heartbeat_no_fencing: Row = row(
        Plain,
        &[
            "lock.lost-heartbeat-fenced",
            "lock.heartbeat-after-force-release",
        ],
    );
    pub(super) const force_release_ignores_nonce: Row = row(
        Plain,
        &[
            "lock.force-release-wrong-nonce",
            "lock.lost-release-keeps-successor",
            "lock.force-release-wrong-nonce-expired",
        ],
    );
    pub(super) const force_release_never: Row = row(
        Plain,
        &[
            "lock.force-release-right-nonce",
            "lock.force-release-wrong-nonce-expired",
            "lock.heartbeat-after-force-release",
        ],
    );
    pub(super) const release_not_idempotent: Row = row(
        Plain,
        &["lock.release-then-null", "lock.release-by-non-holder"],
    );
    pub(super) const inspect_epoch_time: Row = row(Plain, &["lock.inspect-after-acquire"]);
    pub(super) const inspect_only_own: Row = row(
        Plain,
        &[
            "lock.with-lock-returns-value",
            "lock.force-release-wrong-nonce-expired",
            "lock.corrupt-file-held",
        ],
    );
    pub(super) const inspect_phantom_before_acquire: Row = row(
        Plain,
        &[
            "lock.inspect-null-before-acquire",
            "lock.keys-independent",
            "lock.force-release-wrong-nonce-expired",
            "lock.heartbeat-after-force-release",
            "lock.corrupt-file-held",
        ],
    );
    pub(super) const handle_single_use: Row = row(
        Plain,
        &[
            "lock.with-lock-releases-on-error",
            "lock.force-release-right-nonce",
            "lock.fresh-nonce-per-acquire",
            "lock.mutual-exclusion",
        ],
    );
    pub(super) const nonce_reused: Row = row(Plain, &["lock.fresh-nonce-per-acquire"]);
    pub(super) const reentrant_acquire: Row = row(Plain, &["lock.double-acquire-refused"]);
    pub(super) const timeout_without_holder: Row = row(Plain, &["lock.timeout-names-holder"]);
    pub(super) const stale_never_taken_over: Row = row(
        Plain,
        &[
            "lock.expired-taken-over",
            "lock.lost-heartbeat-fenced",
            "lock.lost-release-keeps-successor",
            "lock.stale-by-holders-ttl",
        ],
    );
    pub(super) const heartbeat_does_not_extend: Row = row(Plain, &["lock.heartbeat-keeps-alive"]);
    pub(super) const lock_key_ignored: Row = row(
        Plain,
        &[
            "lock.keys-independent",
            "lock.keys-not-flattened",
            "lock.corrupt-file-held",
            "lock.where-swamp-puts-it",
        ],
    );
    // --- verifier
    pub(super) const verifier_always_healthy: Row = row(
        Plain,
        &[
            "verifier.unhealthy",
            "verifier.missing-directory",
            "verifier.read-only-datastore",
        ],
    );
    pub(super) const verifier_never_healthy: Row = row(Plain, &["verifier.healthy"]);
    pub(super) const verifier_leaves_probe: Row = row(Plain, &["verifier.no-leftovers"]);
    pub(super) const verifier_stat_only: Row = row(Plain, &["verifier.read-only-datastore"]);
    pub(super) const verifier_wrong_type: Row = row(
        Plain,
        &["verifier.result-well-formed", "verifier.unhealthy"],
    );
    pub(super) const lock_path_flattened: Row = row(
        Plain,
        &[
            "lock.keys-not-flattened",
            "lock.corrupt-file-held",
            "lock.where-swamp-puts-it",
        ],
    );
    pub(super) const lock_file_elsewhere: Row = row(
        Plain,
        &["lock.where-swamp-puts-it", "lock.corrupt-file-held"],
    );
    pub(super) const corrupt_lock_deleted: Row = row(Plain, &["lock.corrupt-file-held"]);
    pub(super) const stale_by_own_ttl: Row = row(Plain, &["lock.stale-by-holders-ttl"]);
    pub(super) const deadline_before_first_try: Row = row(Plain, &["lock.max-wait-zero"]);
    pub(super) const force_release_expired_any_nonce: Row =
        row(Plain, &["lock.force-release-wrong-nonce-expired"]);
    pub(super) const heartbeat_recreates: Row = row(Plain, &["lock.heartbeat-after-force-release"]);
    // --- sync
    pub(super) const push_ignores_marks: Row = row(
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
    );
    pub(super) const pull_compares_sizes: Row =
        row(Cache, &["sync.same-size-edit", "sync.generated-tree"]);
    pub(super) const hydrate_in_place: Row = row(Cache, &["sync.hydrate-atomic"]);
    pub(super) const push_never_deletes: Row = row(
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
    );
    pub(super) const scope_ignored: Row = row(Cache, &["sync.scoped-pull"]);
    pub(super) const push_scoped_by_context: Row = row(Cache, &["sync.push-ignores-scope"]);
    pub(super) const namespace_ignored: Row = row(Cache, &["sync.namespaces-apart"]);
    pub(super) const pull_mirrors_remote: Row = row(Cache, &["sync.pull-keeps-new-local-files"]);
    pub(super) const bulk_mark_per_file: Row = row(Cache, &["sync.bulk-mark-pushes-deletions"]);
    pub(super) const index_write_no_cas: Row = row(Cache, &["sync.concurrent-writers"]);
    pub(super) const big_downloads_truncated: Row = row(Cache, &["sync.generated-tree"]);
    pub(super) const timeout_ignored: Row = row(Cache, &["sync.timeout-honoured"]);
    pub(super) const marked_dir_one_level: Row = row(Cache, &["sync.marked-directory-deep"]);
    pub(super) const metadata_only_ignored: Row = row(Cache, &["sync.metadata-only-pull"]);
    pub(super) const hydrate_always_true: Row = row(Cache, &["sync.hydrate-file"]);
    pub(super) const preview_miscounts: Row = row(Cache, &["sync.preview-push"]);
    pub(super) const preview_unadvertised: Row = row(Cache, &["sync.unadvertised-unsupported"]);
    pub(super) const capabilities_unstable: Row = row(Cache, &["sync.capabilities-well-formed"]);
    pub(super) const two_phase_commit_noop: Row =
        row(Cache, &["sync.two-phase", "sync.push-ignores-scope"]);
    pub(super) const pull_fails_on_empty_remote: Row = row(
        Cache,
        // A v2 index has no monolith: hostile metas look like "no index".
        &[
            "sync.callable",
            "sync.namespaces-apart",
            "sync.hostile-index",
        ],
    );
    pub(super) const push_rel_path_filter: Row =
        row(Cache, &["sync.rule7-rel-path-only-on-mark-dirty"]);
    pub(super) const bulk_overridden_by_path: Row = row(Cache, &["sync.rule8-bulk-overrides-path"]);
    pub(super) const marks_in_memory: Row = row(Cache, &["sync.rule4-restart"]);
    pub(super) const deep_marks_dropped: Row = row(
        Cache,
        &["sync.rule5-nested-rel-path", "sync.generated-tree"],
    );
    pub(super) const bad_rel_paths_accepted: Row = row(Cache, &["sync.bad-rel-paths-refused"]);
    pub(super) const pull_overwrites_local_edits: Row =
        row(Cache, &["sync.pull-keeps-local-edits"]);
    pub(super) const push_counts_walked: Row = row(
        Cache,
        &[
            "sync.zero-diff-push",
            "sync.rule3-bulk-full-walk",
            "sync.rule6-idempotent-marks",
            "sync.rule8-bulk-overrides-path",
            "sync.bulk-mark-pushes-deletions",
        ],
    );
    pub(super) const pull_counts_all: Row = row(
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
    );
    pub(super) const push_count_omits_deletions: Row = row(
        Cache,
        &[
            "sync.counts-exact",
            "sync.deletion-propagates",
            "sync.rule2-absence-deletes",
            "sync.preview-push",
            "sync.bulk-mark-pushes-deletions",
            "sync.generated-tree",
        ],
    );
    pub(super) const fresh_pull_counts_zero: Row = row(
        Cache,
        &[
            "sync.round-trip",
            "sync.counts-exact",
            "sync.generated-tree",
            "sync.hostile-index",
        ],
    );
    // A download that fails its sha256 is corrupt-data too: "rebuilt".
    pub(super) const corrupt_index_rebuilt: Row =
        row(Cache, &["sync.hostile-index", "sync.download-verified"]);
    pub(super) const downloads_unverified: Row = row(Cache, &["sync.download-verified"]);
    // --- shared store
    pub(super) const control_list_full_keys: Row = row(
        Cache,
        &[
            "shared.control-round-trip",
            "shared.control-namespaces-apart",
            "shared.control-keys-refused",
        ],
    );
    pub(super) const control_ignores_namespace: Row = row(
        Cache,
        &[
            "shared.control-namespaces-apart",
            "shared.control-keys-refused",
        ],
    );
    pub(super) const control_put_if_absent_racy: Row =
        row(Cache, &["shared.control-put-if-absent-atomic"]);
    pub(super) const control_keys_unchecked: Row = row(Cache, &["shared.control-keys-refused"]);
    pub(super) const catalog_export_always_writes: Row = row(Cache, &["shared.catalog-export"]);
    pub(super) const catalog_malformed_not_skipped: Row = row(Cache, &["shared.catalog-export"]);
    pub(super) const foreign_content_ignores_namespace: Row =
        row(Cache, &["shared.foreign-content"]);
    pub(super) const repair_dry_run_deletes: Row = row(Cache, &["shared.contamination-repair"]);
}

/// Checks no broken guest fails, each with the reason none can exist.
const NO_BROKEN_GUEST: &[&str] = &[];

// verifier.latency-non-negative: no guest built on the SDK can report a
// negative latency (the SDK clamps latency-ms to a finite value >= 0 at the
// WIT boundary, guest/sdk/src/export/convert.rs). The check guards
// components written against the raw bindings, so its proof is the
// raw-bindings hostile guest in `negative_latency_from_a_raw_guest_fails`.

/// A raw-bindings guest reporting a negative latency fails
/// verifier.latency-non-negative; the same guest with a sound latency passes.
fn negative_latency_from_a_raw_guest_fails() -> Result<(), Failed> {
    runtime().block_on(async {
        let host = Host::new(HostOptions {
            cache_dir: None,
            ..HostOptions::default()
        })?;
        let plugin = host.load(Path::new(HOSTILE)).await?;
        let only = Filter {
            suites: vec![],
            ids: vec!["verifier.latency-non-negative".into()],
        };
        for (attack, should_fail) in [("negative-latency", true), ("noop", false)] {
            let work = tempfile::tempdir()?;
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
        Ok(())
    })
}

/// How many suites run at once by default (`--test-threads` overrides it).
/// Most of a lock check is sleeping, so a few more than the cores keeps the
/// machine busy without starving timing.
const PARALLEL: usize = 4;

/// One runtime and one host for every suite (each test blocks on its own
/// suite from a harness thread).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(PARALLEL)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let _entered = runtime().enter();
        Host::new(HostOptions::default()).expect("host")
    })
}

/// The whole suite on `wasm`, set up as `fs_datastore.rs` does.
async fn run_suite(host: &Host, wasm: &Path, mode: Mode) -> Report {
    let cache = matches!(mode, Cache);
    let plugin = host
        .load(wasm)
        .await
        .unwrap_or_else(|e| panic!("loading {}: {e}", wasm.display()));
    let work = tempfile::tempdir().unwrap();
    let mut subject = conformance::fs_subject::subject(plugin, work.path(), cache).unwrap();
    // One tree for every guest, so each fails the same checks every run.
    subject.seed = 1;
    conformance::run(&subject, &Filter::default()).await
}

/// What a report got wrong against a row, or None.
fn mismatch(guest: &str, row: &Row, report: &Report) -> Option<String> {
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
    let mut out = format!("{guest} ({:?}):", row.mode);
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

/// The test that runs the whole suite on `wasm` and wants exactly
/// `row.fails` to fail.
fn suite(name: &'static str, wasm: &'static str, row: &'static Row) -> Trial {
    Trial::test(name, move || {
        let t = std::time::Instant::now();
        let report = runtime().block_on(run_suite(host(), Path::new(wasm), row.mode));
        eprintln!(
            "{name} ({:?}) in {:.1}s",
            row.mode,
            t.elapsed().as_secs_f64()
        );
        match mismatch(name, row, &report) {
            None => Ok(()),
            Some(problem) => Err(problem.into()),
        }
    })
}

/// The reference: fs-datastore fails nothing, in both modes.
const FS_PLAIN: Row = row(Plain, &[]);
const FS_CACHE: Row = row(Cache, &[]);

/// Every broken guest's expectation (one per guest, by `foreach_broken!`).
fn broken_rows() -> Vec<&'static Row> {
    let mut rows = Vec::new();
    macro_rules! push {
        ($name:ident, $wasm:expr) => {
            rows.push(&expected::$name);
        };
    }
    test_guests_artifacts::foreach_broken!(push);
    rows
}

fn every_check_is_failed_by_some_broken_guest() -> Result<(), Failed> {
    let catalogue: BTreeSet<&str> = conformance::catalogue().iter().map(|c| c.0).collect();
    let tripped: BTreeSet<&str> = broken_rows()
        .iter()
        .flat_map(|r| r.fails.iter().copied())
        .collect();
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
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(PARALLEL);
    let mut trials = vec![
        Trial::test(
            "every_check_is_failed_by_some_broken_guest",
            every_check_is_failed_by_some_broken_guest,
        ),
        Trial::test(
            "negative_latency_from_a_raw_guest_fails",
            negative_latency_from_a_raw_guest_fails,
        ),
        suite("fs_datastore_plain", FS_DATASTORE, &FS_PLAIN),
        suite("fs_datastore_cache", FS_DATASTORE, &FS_CACHE),
    ];
    macro_rules! broken {
        ($name:ident, $wasm:expr) => {
            trials.push(suite(
                concat!("broken_", stringify!($name)),
                $wasm,
                &expected::$name,
            ));
        };
    }
    test_guests_artifacts::foreach_broken!(broken);
    libtest_mimic::run(&args, trials).exit_code()
}
