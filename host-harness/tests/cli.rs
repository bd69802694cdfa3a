//! The `host-harness` binary, run as a user runs it.

use serde_json::Value;
use std::process::Command;

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host-harness"))
}

fn guest(name: &str) -> String {
    swamp_host::artifacts::guest(name)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn inspect_prints_identity_schema_sandbox_and_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"path": dir.path(), "cache": true}).to_string();
    let out = harness()
        .args(["inspect", &guest("fs-datastore"), "--config", &config])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "type:",
        "name:",
        "description:",
        "config schema:",
        "\"path\"",
        "mounts (config fields):    [\"path\"]",
        "sync capabilities: {",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn check_json_lists_every_check_and_passes_on_fs_datastore() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"path": dir.path()}).to_string();
    let out = harness()
        .args([
            "check",
            &guest("fs-datastore"),
            "--config",
            &config,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)));
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), conformance::catalogue().len());
    for c in checks {
        for key in ["id", "suite", "status", "message"] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        assert_ne!(c["status"], "fail", "{c}");
    }
    assert!(out.status.success());
}

#[test]
fn check_junit_is_xml_with_one_testcase_per_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{{\"path\": \"{}\"}}", dir.path().display());
    let out = harness()
        .args([
            "check",
            &guest("fs-datastore"),
            "--config",
            &config,
            "--format",
            "junit",
            "--suite",
            "lock",
        ])
        .output()
        .unwrap();
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    let lock_checks = conformance::catalogue()
        .iter()
        .filter(|(_, s, _)| *s == conformance::Suite::Lock)
        .count();
    assert_eq!(xml.matches("<testcase").count(), lock_checks, "{xml}");
}

#[test]
fn check_exits_non_zero_when_a_check_fails() {
    // The hostile guest has no lock at all: the lock suite must fail.
    let out = harness()
        .args([
            "check",
            &guest("hostile-guest"),
            "--config",
            r#"{"attack": "noop"}"#,
            "--suite",
            "lock",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("fail"), "{text}");
}

#[test]
fn bad_arguments_get_a_clear_error() {
    let out = harness()
        .args(["check", "/no/such.wasm", "--config", "{}"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/no/such.wasm"), "{err}");

    let out = harness()
        .args(["check", &guest("fs-datastore"), "--config", "{not json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}

#[test]
fn readme_check_list_is_generated_from_the_suite() {
    let readme =
        std::fs::read_to_string(swamp_host::artifacts::workspace_root().join("README.md")).unwrap();
    assert!(
        readme.contains(&conformance::catalogue_markdown()),
        "README.md's check list is stale: run `make readme`"
    );
}
