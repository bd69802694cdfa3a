//! `host-harness package` end to end: fs-datastore and s3-datastore are
//! packaged as one swamp extension, and the Deno tests in
//! `packaging/tests` drive the generated TypeScript modules, as swamp would
//! (also bundled into one file first, as swamp does), on real directories
//! and on a real SeaweedFS started here. Deno and the
//! node tools come from the npm registry at the versions pinned in
//! `packaging/npm/package-lock.json` (installed once into target/tools/npm).

use crate::common::{harness, text};
use host_harness::package::Tools;
use seaweedfs_fixture::SeaweedFs;
use std::path::{Path, PathBuf};
use std::process::Command;
use test_guests_artifacts::{FS_DATASTORE, HOSTILE, S3_DATASTORE};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("packaging")
        .join("tests")
}

/// Package with the native library built from this workspace embedded.
fn package(component: &Path, out: &Path, tools: &Tools) {
    let native = host_harness::bundled::native_library().unwrap();
    let res = harness()
        .arg("package")
        .arg(component)
        .arg("--out")
        .arg(out)
        .arg("--tools")
        .arg(tools.root())
        .arg("--native-lib")
        .arg(native)
        .output()
        .unwrap();
    assert!(res.status.success(), "package failed:\n{}", text(&res));
}

#[test]
fn packaged_fs_and_s3_datastores_pass_their_deno_tests() {
    let tools = Tools::ensure(&Tools::default_dir()).unwrap();
    let ext = tempfile::tempdir().unwrap();
    package(Path::new(FS_DATASTORE), ext.path(), &tools);
    package(Path::new(S3_DATASTORE), ext.path(), &tools);
    let manifest = std::fs::read_to_string(ext.path().join("manifest.yaml")).unwrap();
    assert!(
        manifest.contains("datastores:\n  - fs_datastore.ts\n  - s3_datastore.ts\n"),
        "{manifest}"
    );

    // The generated modules and the runtime type-check (deno check), as
    // an extension author's editor or CI would.
    let check = Command::new(tools.deno())
        .current_dir(ext.path())
        .args(["check", "--no-config"])
        .arg("extensions/datastores/fs_datastore.ts")
        .arg("extensions/datastores/s3_datastore.ts")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "deno check failed:\n{}",
        text(&check)
    );

    let s3 = SeaweedFs::start();
    let bucket = "deno-extension";
    s3.create_bucket(bucket).unwrap();

    // Both paths of the extension pass the same tests: swamp-host through
    // Deno FFI where the packaged library fits, jco's transpilation
    // elsewhere. SWAMP_WASM_BACKEND makes each test check which one ran.
    for backend in ["native", "portable"] {
        let cache = tempfile::tempdir().unwrap();
        // Deno runs from the extension folder: no package.json there or
        // above, so it resolves nothing from npm (the extension is
        // self-contained).
        let out = Command::new(tools.deno())
            .current_dir(ext.path())
            .args(["test", "--allow-all", "--no-prompt"])
            .arg(tests_dir().join("fs.test.ts"))
            .arg(tests_dir().join("s3.test.ts"))
            .arg(tests_dir().join("bundled.test.ts"))
            .arg(tests_dir().join("model_run.test.ts"))
            .arg(tests_dir().join("shared_store.test.ts"))
            .env("NO_COLOR", "1")
            .env("SWAMP_WASM_BACKEND", backend)
            // A fresh cache: the native library is unpacked there on first use.
            .env("XDG_CACHE_HOME", cache.path())
            .env("SWAMP_EXTENSION_DIR", ext.path())
            .env("SWAMP_S3_ENDPOINT", s3.endpoint())
            .env("SWAMP_S3_BUCKET", bucket)
            .env("AWS_ACCESS_KEY_ID", s3.access_key())
            .env("AWS_SECRET_ACCESS_KEY", s3.secret_key())
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "deno test ({backend} path) failed:\n{}\nSeaweedFS log:\n{}",
            text(&out),
            s3.log_tail(20)
        );
        // Every suite ran (a test file silently skipped would also "pass").
        let report = text(&out);
        for name in [
            "fs: sync round trip",
            "s3: sync round trip",
            "s3: the lock lifecycle",
            "bundled fs-datastore",
            "bundled s3-datastore",
            "model run: s3 pushes every file swamp marked",
            "model run: fs in cache mode pushes every file swamp marked",
            "shared store: serve's control-plane records",
            "shared store: catalogs and foreign content across namespaces",
            "shared store: doctor finds and repairs a contaminated namespace",
        ] {
            assert!(
                report.contains(name),
                "{name} did not run ({backend} path):\n{report}"
            );
        }
    }
}

/// The walls of the native path (packaging/tests/walls.test.ts): the
/// hostile guest, fs-datastore and s3-datastore packaged together, with
/// short limits so each deadline comes within seconds.
#[test]
fn the_packaged_native_path_holds_the_sandbox_walls() {
    let tools = Tools::ensure(&Tools::default_dir()).unwrap();
    let ext = tempfile::tempdir().unwrap();
    for g in [HOSTILE, FS_DATASTORE, S3_DATASTORE] {
        package(Path::new(g), ext.path(), &tools);
    }
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(tools.deno())
        .current_dir(ext.path())
        .args(["test", "--allow-all", "--no-prompt"])
        .arg(tests_dir().join("walls.test.ts"))
        .env("NO_COLOR", "1")
        .env("SWAMP_WASM_BACKEND", "native")
        .env("SWAMP_WASM_MEMORY_MB", "64")
        .env("SWAMP_WASM_CALL_TIMEOUT_MS", "1500")
        .env("SWAMP_WASM_GRACE_MS", "500")
        .env("SWAMP_WASM_SYNC_TIMEOUT_MS", "1500")
        .env("XDG_CACHE_HOME", cache.path())
        .env("SWAMP_EXTENSION_DIR", ext.path())
        // Credentials, so s3-datastore does send its requests to the
        // server that never answers (without any it fails at once).
        .env("AWS_ACCESS_KEY_ID", "walls")
        .env("AWS_SECRET_ACCESS_KEY", "walls")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("HOSTILE_ALLOWED_VAR")
        .output()
        .unwrap();
    let report = text(&out);
    assert!(out.status.success(), "deno test failed:\n{report}");
    for name in [
        "walls: a guest growing past its memory limit",
        "walls: provider calls meet their deadline",
        "walls: a lock call meets its deadline",
        "walls: sync calls meet their deadline",
        "walls: a synchronous method of swamp's contract",
        "walls: against a server that never answers",
        "walls: a held lock's heartbeats go on",
        "walls: the allow-lists hold",
    ] {
        assert!(report.contains(name), "{name} did not run:\n{report}");
    }
}

/// A component built against WIT 0.1.0 (checked in under
/// `conformance/tests/fixtures`) still packages, type-checks and passes the
/// fs-datastore Deno tests: the packaging of every later version must keep
/// loading what was built before it.
#[test]
fn a_component_built_against_wit_0_1_0_packages_and_passes_its_deno_tests() {
    let tools = Tools::ensure(&Tools::default_dir()).unwrap();
    let work = tempfile::tempdir().unwrap();
    // The module is named after the file: as fs-datastore it was built.
    let component = work.path().join("fs_datastore.wasm");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../conformance/tests/fixtures/fs_datastore-wit-0.1.0.wasm"),
        &component,
    )
    .unwrap();
    let ext = work.path().join("ext");
    package(&component, &ext, &tools);
    let out = Command::new(tools.deno())
        .current_dir(&ext)
        .args(["test", "--allow-all", "--no-prompt"])
        .arg(tests_dir().join("fs.test.ts"))
        .env("NO_COLOR", "1")
        .env("SWAMP_EXTENSION_DIR", &ext)
        .env("SWAMP_COMPONENT_WIT", "0.1.0")
        .env("SWAMP_WASM_BACKEND", "native")
        .env("XDG_CACHE_HOME", work.path().join("cache"))
        .output()
        .unwrap();
    let report = text(&out);
    assert!(out.status.success(), "deno test failed:\n{report}");
    assert!(report.contains("fs: sync round trip"), "{report}");
    assert!(
        report.contains("fs: shared-store methods exist exactly when the component has them"),
        "{report}"
    );
}

#[test]
fn package_refuses_a_file_that_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("not-a-component.wasm");
    std::fs::write(&bogus, b"\0asm but not really").unwrap();
    let out = harness()
        .arg("package")
        .arg(&bogus)
        .arg("--out")
        .arg(dir.path().join("ext"))
        .arg("--tools")
        .arg(Tools::default_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("not-a-component.wasm is not a loadable datastore component"),
        "{msg}"
    );
    assert!(!dir.path().join("ext").join("manifest.yaml").exists());
}
