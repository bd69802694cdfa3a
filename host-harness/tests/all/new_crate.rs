//! `host-harness new`, run as a new author runs it: the crate it writes,
//! in a temporary directory outside this workspace, builds to a component
//! whose `check.sh` passes, with the lock checks (and with `--sync` the
//! sync checks) run, not skipped.

use crate::common::{harness, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

/// One new crate built and checked at a time: the checks time locks and
/// syncs, and this machine's cores are few.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The target directory the new crates build in: one shared directory
/// under this workspace's target/, so the SDK and its dependencies compile
/// once (about a minute) and later runs compile only the new crate. The
/// crates stay outside the workspace all the same: cargo places a crate in
/// a workspace by where its manifest is, not by its target directory, and
/// the test checks that with `cargo locate-project --workspace`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| host_harness::bundled::workspace_root().join("target"))
        .join("scaffold")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `new` then `check.sh --format json`; the report's checks by id.
fn new_and_check(name: &str, sync: bool) -> Vec<Value> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    host_harness::bundled::ensure_wasm_target().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let workspace = host_harness::bundled::workspace_root()
        .canonicalize()
        .unwrap();
    assert!(
        !outside
            .path()
            .canonicalize()
            .unwrap()
            .starts_with(&workspace)
    );
    let dir = outside.path().join(name);
    let start = Instant::now();
    let mut new = harness();
    new.args(["new", name, "--dir", dir.to_str().unwrap()]);
    if sync {
        new.arg("--sync");
    }
    let out = new.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("./check.sh"),
        "{}",
        text(&out)
    );
    assert_eq!(dir.join("src/remote.rs").exists(), sync);

    // Its own workspace, not this one.
    let out = cargo()
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(root, dir.join("Cargo.toml"));
    // Written as rustfmt writes it.
    let out = cargo()
        .args(["fmt", "--check"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "not rustfmt-clean:\n{}", text(&out));

    let out = Command::new(dir.join("check.sh"))
        .args(["--format", "json"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("HOST_HARNESS", env!("CARGO_BIN_EXE_host-harness"))
        .output()
        .unwrap();
    eprintln!(
        "{name}: new, build and check in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check did not print JSON ({e}):\n{}", text(&out)));
    assert!(out.status.success(), "check failed:\n{}", text(&out));
    let checks = report["checks"].as_array().unwrap().clone();
    assert_eq!(checks.len(), conformance::catalogue().len());
    for c in &checks {
        assert_ne!(c["status"], "fail", "{c}");
    }
    checks
}

fn suite<'a>(checks: &'a [Value], suite: &str) -> Vec<&'a Value> {
    let found: Vec<_> = checks.iter().filter(|c| c["suite"] == suite).collect();
    assert!(!found.is_empty(), "no {suite} checks");
    found
}

#[test]
fn a_new_crate_passes_check_with_every_lock_check_run() {
    let checks = new_and_check("my-store", false);
    for c in suite(&checks, "lock")
        .into_iter()
        .chain(suite(&checks, "verifier"))
        .chain(suite(&checks, "config"))
    {
        assert_eq!(c["status"], "pass", "{c}");
    }
    // No sync service: the sync suite has nothing to run.
    for c in suite(&checks, "sync") {
        assert_eq!(c["status"], "skipped", "{c}");
    }
}

#[test]
fn a_new_crate_with_sync_passes_the_sync_checks_too() {
    let checks = new_and_check("my-synced-store", true);
    for c in suite(&checks, "lock")
        .into_iter()
        .chain(suite(&checks, "sync"))
    {
        if c["id"] == "sync.unadvertised-unsupported" {
            // The SDK's sync engine has every optional call.
            assert_eq!(c["status"], "skipped", "{c}");
            assert!(
                c["message"]
                    .as_str()
                    .unwrap()
                    .contains("every optional call is advertised"),
                "{c}"
            );
        } else {
            assert_eq!(c["status"], "pass", "{c}");
        }
    }
}

fn refused(args: &[&str], cwd: &Path) -> String {
    let out = harness()
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn new_refuses_an_existing_directory_and_a_bad_name() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/keep"), "mine").unwrap();
    let err = refused(&["new", "taken"], tmp.path());
    assert!(err.contains("taken already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("taken/keep")).unwrap(),
        "mine"
    );
    let elsewhere = tmp.path().join("taken").to_str().unwrap().to_string();
    let err = refused(&["new", "fresh", "--dir", &elsewhere], tmp.path());
    assert!(err.contains("already exists"), "{err}");

    for bad in ["My-Store", "2fast", "my store", "../up", ""] {
        let err = refused(&["new", bad], tmp.path());
        assert!(err.contains("is not a valid name"), "{bad:?}: {err}");
    }
    let err = refused(&["new", "test"], tmp.path());
    assert!(err.contains("cargo reserves"), "{err}");
    let err = refused(&["new", "ok", "--sdk-path", "/no/such/sdk"], tmp.path());
    assert!(
        err.contains("no swamp-datastore-sdk at /no/such/sdk"),
        "{err}"
    );

    // Nothing was written by any refusal.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec!["taken"]);
}
