//! The `host-harness` binary, run as a user runs it.

use crate::common::harness;
use serde_json::Value;
use std::path::Path;
use test_guests_artifacts::{FS_DATASTORE, HOSTILE};

#[test]
fn inspect_prints_identity_schema_sandbox_and_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"path": dir.path(), "cache": true}).to_string();
    let out = harness()
        .args(["inspect", FS_DATASTORE, "--config", &config])
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
        "interfaces: WIT 0.1.1 (with shared-store)",
        r#"shared features: {"controlPlane":true,"catalogs":true,"contaminationRepair":true}"#,
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// A component built against WIT 0.1.0 (conformance/tests/fixtures) has no
/// shared-store export: inspect says so and lists every shared feature off.
#[test]
fn inspect_tells_a_wit_0_1_0_component_has_no_shared_features() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"path": dir.path(), "cache": true}).to_string();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/tests/fixtures/fs_datastore-wit-0.1.0.wasm");
    let out = harness()
        .args(["inspect", fixture.to_str().unwrap(), "--config", &config])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "interfaces: WIT 0.1.0 (no shared-store",
        r#"shared features: {"controlPlane":false,"catalogs":false,"contaminationRepair":false}"#,
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
            FS_DATASTORE,
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
            FS_DATASTORE,
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
            HOSTILE,
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
    // A user's shell may set RUST_BACKTRACE: an expected failure is still a
    // message, never a backtrace.
    let out = harness()
        .args(["check", "/no/such.wasm", "--config", "{}"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/no/such.wasm"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");
    assert!(!err.contains("0: "), "{err}");

    let out = harness()
        .args(["check", FS_DATASTORE, "--config", "{not json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}

#[test]
fn readme_check_list_is_generated_from_the_suite() {
    let readme =
        std::fs::read_to_string(host_harness::bundled::workspace_root().join("README.md")).unwrap();
    assert!(
        readme.contains(&conformance::catalogue_markdown()),
        "README.md's check list is stale: run `make readme`"
    );
}

/// `scripts/ensure-wasm-target.sh`, which both README commands run before
/// any guest is built, against a fake toolchain: a `rustc` that reports a
/// sysroot in a fake rustup home, and a `rustup` that records what it was
/// asked and installs the target by creating its directory.
mod wasm_target {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    const TOOLCHAIN: &str = "1.95.0-x86_64-unknown-linux-gnu";

    struct FakeToolchain {
        dir: tempfile::TempDir,
    }

    impl FakeToolchain {
        /// A rustup home holding the toolchain, without the wasm target.
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let fake = FakeToolchain { dir };
            std::fs::create_dir_all(
                fake.sysroot()
                    .join("lib/rustlib/x86_64-unknown-linux-gnu/lib"),
            )
            .unwrap();
            std::fs::create_dir_all(fake.bin()).unwrap();
            fake.script(
                "rustc",
                &format!(
                    "case \"$1\" in\n--print) echo '{}' ;;\n--version) echo 'rustc 1.95.0 (fake)' ;;\nesac",
                    fake.sysroot().display()
                ),
            );
            fake
        }

        fn home(&self) -> PathBuf {
            self.dir.path().join("rustup-home")
        }
        fn sysroot(&self) -> PathBuf {
            self.home().join("toolchains").join(TOOLCHAIN)
        }
        fn bin(&self) -> PathBuf {
            self.dir.path().join("bin")
        }
        fn calls(&self) -> PathBuf {
            self.dir.path().join("rustup-calls")
        }
        fn target_lib(&self) -> PathBuf {
            self.sysroot().join("lib/rustlib/wasm32-wasip2/lib")
        }

        fn script(&self, name: &str, body: &str) {
            let path = self.bin().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }

        /// A rustup that installs the target (or, with `fail`, refuses as
        /// it does offline).
        fn with_rustup(&self, fail: bool) {
            let add = if fail {
                "echo 'error: could not download file' >&2; exit 1".to_string()
            } else {
                format!("mkdir -p '{}'", self.target_lib().display())
            };
            self.script(
                "rustup",
                &format!(
                    "echo \"$@\" >> '{calls}'\ncase \"$1\" in\nshow) echo '{home}' ;;\ntarget) {add} ;;\nesac",
                    calls = self.calls().display(),
                    home = self.home().display(),
                ),
            );
        }

        fn run(&self, rustc: &Path) -> Output {
            let script =
                host_harness::bundled::workspace_root().join("scripts/ensure-wasm-target.sh");
            Command::new("bash")
                .arg(script)
                .env("RUSTC", rustc)
                .env_remove("CARGO")
                .env("PATH", format!("{}:/usr/bin:/bin", self.bin().display()))
                .output()
                .unwrap()
        }

        fn rustup_calls(&self) -> String {
            std::fs::read_to_string(self.calls()).unwrap_or_default()
        }
    }

    fn stderr(out: &Output) -> String {
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    #[test]
    fn a_toolchain_that_has_the_target_is_left_alone() {
        let fake = FakeToolchain::new();
        fake.with_rustup(false);
        std::fs::create_dir_all(fake.target_lib()).unwrap();
        let out = fake.run(&fake.bin().join("rustc"));
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(fake.rustup_calls(), "", "rustup must not be asked");
        assert_eq!(stderr(&out), "");
    }

    #[test]
    fn a_missing_target_is_added_to_the_toolchain_in_use() {
        let fake = FakeToolchain::new();
        fake.with_rustup(false);
        let out = fake.run(&fake.bin().join("rustc"));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            fake.rustup_calls()
                .contains(&format!("target add --toolchain {TOOLCHAIN} wasm32-wasip2")),
            "{}",
            fake.rustup_calls()
        );
        assert!(fake.target_lib().is_dir());
        assert!(stderr(&out).contains("installing the Rust target wasm32-wasip2"));
    }

    #[test]
    fn a_failed_add_names_the_command_that_fixes_it() {
        let fake = FakeToolchain::new();
        fake.with_rustup(true);
        let out = fake.run(&fake.bin().join("rustc"));
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("could not download file"), "{err}");
        assert!(
            err.contains(&format!(
                "rustup target add --toolchain {TOOLCHAIN} wasm32-wasip2"
            )),
            "{err}"
        );
        assert_eq!(
            err.matches("error:").count(),
            2,
            "one paragraph, quoting rustup: {err}"
        );
    }

    #[test]
    fn without_rustup_the_message_says_what_is_missing() {
        let fake = FakeToolchain::new();
        let out = fake.run(&fake.bin().join("rustc"));
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: the Rust target wasm32-wasip2 is not installed"),
            "{err}"
        );
        assert!(
            err.contains("rustup, which would add it, is not on PATH"),
            "{err}"
        );
        assert!(err.contains(&fake.sysroot().display().to_string()), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn a_compiler_rustup_does_not_manage_is_named() {
        let fake = FakeToolchain::new();
        fake.with_rustup(false);
        // A distribution's rustc: its sysroot is outside the rustup home.
        let distro = fake.dir.path().join("usr");
        std::fs::create_dir_all(distro.join("lib/rustlib")).unwrap();
        fake.script(
            "distro-rustc",
            &format!(
                "case \"$1\" in\n--print) echo '{}' ;;\n*) echo 'rustc 1.95.0 (distro)' ;;\nesac",
                distro.display()
            ),
        );
        let out = fake.run(&fake.bin().join("distro-rustc"));
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("not one rustup manages"), "{err}");
        assert!(
            !fake.rustup_calls().contains("target add"),
            "{}",
            fake.rustup_calls()
        );
    }

    #[test]
    fn no_compiler_at_all_is_a_message() {
        let fake = FakeToolchain::new();
        let out = fake.run(&fake.dir.path().join("no-such-rustc"));
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("cannot run the Rust compiler"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn strict_fails_on_checks_skipped_for_want_of_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"path": dir.path()}).to_string();
    let run = |extra: &[&str]| {
        harness()
            .args([
                "check",
                FS_DATASTORE,
                "--config",
                &config,
                "--suite",
                "config",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    // No --invalid-config: two checks skip, naming the flag.
    let out = run(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("needs input: no invalid configs given"),
        "{text}"
    );
    assert!(text.contains("--invalid-config"), "{text}");
    let out = run(&["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--strict: 2 check(s) skipped for want of an input: config.invalid-rejected-by-schema, config.invalid-rejected-by-provider"),
        "{err}"
    );
    // Given the input, --strict passes.
    let out = run(&["--strict", "--invalid-config", r#"{"path": 7}"#]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A guest that panics: the failing check names the panic's file, line and
/// message in every output format, without the wasm backtrace.
#[test]
fn a_guest_panic_is_reported_by_its_location_and_message() {
    let hostile = HOSTILE;
    for format in ["human", "json", "junit"] {
        let out = harness()
            .args([
                "check",
                hostile,
                "--config",
                r#"{"attack": "panic"}"#,
                "--check",
                "verifier.healthy",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{format}: {text}");
        assert!(
            text.contains("guest panicked at guest/test-guests/src/bin/hostile.rs:")
                && text.contains("hostile guest panics on purpose"),
            "{format}: {text}"
        );
        assert!(!text.contains("backtrace"), "{format}: {text}");
    }
}
