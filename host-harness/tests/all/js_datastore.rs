//! The JavaScript datastore of `guest/examples/js-datastore`, built with
//! componentize-js against the repository's WIT, in the same host and under
//! the same conformance suite as the Rust guests.
//!
//! The component is built here: the pinned node packages of the example's
//! own `package-lock.json` are installed with `npm ci` into
//! `target/js-datastore` (once per lock file), and the example's `build.mjs`
//! runs from there, writing `target/js-datastore/js_datastore.wasm`. It is
//! rebuilt only when one of its inputs changed (the example's sources, its
//! WIT, its lock file, or the repository's `wit/`). Node.js 18 or later and
//! npm are needed, and the npm registry on the first run.

use conformance::{Filter, Format, Report, Status, Subject, Suite};
use serde_json::{Value, json};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;
use swamp_host::{
    DatastoreError, Host, HostError, HostOptions, Lock, LockInfo, LockOptions, OpenOptions, Plugin,
    Provider,
};

fn example_dir() -> PathBuf {
    host_harness::bundled::workspace_root().join("guest/examples/js-datastore")
}

/// `target/js-datastore` (under `$CARGO_TARGET_DIR` when set).
fn stage_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| host_harness::bundled::workspace_root().join("target"))
        .join("js-datastore")
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A fingerprint of what the component is built from: FNV-1a over each
/// input's path and bytes (not `node_modules`, which the lock file pins).
fn inputs_fingerprint() -> String {
    let example = example_dir();
    let root = host_harness::bundled::workspace_root();
    let mut files: Vec<PathBuf> = ["build.mjs", "package.json", "package-lock.json"]
        .iter()
        .map(|f| example.join(f))
        .collect();
    files_under(&example.join("src"), &mut files);
    files_under(&example.join("wit"), &mut files);
    files_under(&root.join("wit"), &mut files);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let name = file.strip_prefix(&root).unwrap_or(&file).to_string_lossy();
        let bytes = fs::read(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        for b in name.bytes().chain([0]).chain(bytes) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} (Node.js and npm are needed): {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The component, built first when its inputs changed (see the module doc).
fn js_datastore_wasm() -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(wasm) = built.as_ref() {
        return wasm.clone();
    }
    let example = example_dir();
    let stage = stage_dir();
    fs::create_dir_all(&stage).unwrap();
    // Test binaries of other crates may build it at the same time.
    let guard = File::create(stage.join(".build.lock")).unwrap();
    guard.lock().unwrap();

    let lock_file = fs::read(example.join("package-lock.json")).unwrap();
    let installed = stage.join(".installed-lock.json");
    if fs::read(&installed).ok().as_deref() != Some(lock_file.as_slice()) {
        fs::copy(example.join("package.json"), stage.join("package.json")).unwrap();
        fs::write(stage.join("package-lock.json"), &lock_file).unwrap();
        let started = Instant::now();
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&stage),
            "npm ci (the pinned componentize-js)",
        );
        eprintln!(
            "installed the example's node packages in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        fs::write(&installed, &lock_file).unwrap();
    }

    let wasm = stage.join("js_datastore.wasm");
    let stamp = stage.join("js_datastore.inputs");
    let fingerprint = inputs_fingerprint();
    if !(wasm.is_file() && fs::read_to_string(&stamp).ok() == Some(fingerprint.clone())) {
        // build.mjs resolves componentize-js from its own folder: run a copy
        // beside the installed node_modules.
        fs::copy(example.join("build.mjs"), stage.join("build.mjs")).unwrap();
        run(
            Command::new("node")
                .arg("build.mjs")
                .arg("--example")
                .arg(&example)
                .arg("--out")
                .arg(&wasm)
                .current_dir(&stage),
            "node build.mjs (componentize-js)",
        );
        fs::write(&stamp, &fingerprint).unwrap();
    }
    *built = Some(wasm.clone());
    wasm
}

async fn load(host: &Host) -> Plugin {
    host.load(&js_datastore_wasm())
        .await
        .expect("loading the JavaScript datastore")
}

/// What each check must give: sync and shared-store need a sync service,
/// which this datastore does not have (it is a local directory, as
/// fs-datastore without a cache); namespace claims are not written in the
/// example. Everything else passes.
fn expected(id: &str, suite: Suite) -> Result<(), &'static str> {
    match (suite, id) {
        (Suite::Sync | Suite::Shared, _) => Err("the provider has no sync service"),
        (_, "export.namespace-claims") => Err("features.namespaces is false"),
        _ => Ok(()),
    }
}

fn mismatches(report: &Report) -> Vec<String> {
    report
        .checks
        .iter()
        .filter_map(|c| match (expected(c.id, c.suite), &c.status) {
            (Ok(()), Status::Pass) => None,
            (Err(why), Status::Skipped(m)) if m.contains(why) => None,
            (Ok(()), other) => Some(format!("{}: expected to pass, got {other:?}", c.id)),
            (Err(why), other) => Some(format!(
                "{}: expected to be skipped ({why}), got {other:?}",
                c.id
            )),
        })
        .collect()
}

fn config(path: &Path) -> Value {
    json!({ "path": path })
}

#[tokio::test(flavor = "multi_thread")]
async fn js_datastore_passes_every_check_that_applies() {
    let host = Host::new(HostOptions::default()).unwrap();
    let plugin = load(&host).await;
    assert_eq!(plugin.info().datastore_type, "@swamp-wasm/js-datastore");
    let work = tempfile::tempdir().unwrap();
    let datastore = work.path().join("datastore");
    fs::create_dir_all(&datastore).unwrap();
    let mut subject = Subject::new(plugin, config(&datastore), work.path().join("scratch"));
    assert_eq!(subject.isolate_by.as_deref(), Some("path"));
    let file = work.path().join("not-a-directory");
    fs::write(&file, b"a file").unwrap();
    subject.unhealthy_configs = vec![
        (
            "missing directory".into(),
            config(&work.path().join("missing")),
        ),
        ("path is a file".into(), config(&file)),
    ];
    subject.invalid_configs = vec![
        json!({}),
        json!({"path": "relative/dir"}),
        json!({"path": 42}),
        json!({"path": "/abs", "cache": true}),
        json!({"path": "/abs", "unknown": true}),
    ];
    // Every suite, sync and shared-store included: they must say why they
    // do not apply.
    let started = Instant::now();
    let report = conformance::run(&subject, &Filter::default()).await;
    eprintln!(
        "js-datastore in {:.1}s:\n{}",
        started.elapsed().as_secs_f64(),
        report.render(Format::Human)
    );
    assert_eq!(
        report.checks.len(),
        conformance::catalogue().len(),
        "every check ran"
    );
    let wrong = mismatches(&report);
    assert!(
        wrong.is_empty(),
        "the JavaScript datastore:\n{}",
        wrong.join("\n")
    );
    assert_eq!(report.failed(), 0);
}

/// swamp's LockInfo bytes for `info` (pretty JSON, two-space indent, this
/// key order, no trailing newline), built by hand here.
fn swamp_lock_json(info: &LockInfo) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap();
    format!(
        "{{\n  \"holder\": {},\n  \"hostname\": {},\n  \"pid\": {},\n  \"acquiredAt\": {},\n  \"ttlMs\": {},\n  \"nonce\": {}\n}}",
        s(&info.holder),
        s(&info.hostname),
        info.pid,
        s(&info.acquired_at),
        info.ttl_ms,
        s(info.nonce.as_deref().unwrap_or_default())
    )
}

fn quick() -> LockOptions {
    LockOptions::default()
        .ttl_ms(30_000)
        .retry_interval_ms(20)
        .max_wait_ms(300)
}

async fn times_out_naming(lock: &Lock, holder: &LockInfo, who: &str) {
    match lock.acquire().await {
        Err(HostError::Datastore(DatastoreError::LockTimeout {
            holder: Some(h), ..
        })) => {
            assert_eq!(&*h, holder, "{who}'s lock-timeout names the holder")
        }
        other => panic!("{who} acquired a held lock or failed otherwise: {other:?}"),
    }
}

/// The JavaScript lock and fs-datastore's (Rust) on one directory: the same
/// file, the same bytes, each refuses the other's lock, and the fencing
/// tokens work across them.
#[tokio::test(flavor = "multi_thread")]
async fn js_and_rust_locks_exclude_each_other() {
    let host = Host::new(HostOptions::default()).unwrap();
    let js = load(&host).await;
    let fs_wasm = std::path::PathBuf::from(test_guests_artifacts::FS_DATASTORE);
    let rust = host.load(&fs_wasm).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let js: Provider = js
        .open(config(dir.path()), OpenOptions::default())
        .await
        .unwrap();
    let rust: Provider = rust
        .open(config(dir.path()), OpenOptions::default())
        .await
        .unwrap();
    let js_lock = js.create_lock(path, quick()).await.unwrap();
    let rust_lock = rust.create_lock(path, quick()).await.unwrap();

    js_lock.acquire().await.unwrap();
    let held = js_lock.inspect().await.unwrap().unwrap();
    let stored = fs::read_to_string(dir.path().join(".datastore.lock")).unwrap();
    assert_eq!(stored, swamp_lock_json(&held), "swamp's LockInfo bytes");
    assert_eq!(rust_lock.inspect().await.unwrap().as_ref(), Some(&held));
    times_out_naming(&rust_lock, &held, "fs-datastore").await;
    js_lock.release().await.unwrap();
    assert!(!dir.path().join(".datastore.lock").exists());

    rust_lock.acquire().await.unwrap();
    let held = rust_lock.inspect().await.unwrap().unwrap();
    assert_eq!(js_lock.inspect().await.unwrap().as_ref(), Some(&held));
    times_out_naming(&js_lock, &held, "the JavaScript datastore").await;
    // A release by the JavaScript handle, which never held it, leaves it.
    js_lock.release().await.unwrap();
    assert_eq!(rust_lock.inspect().await.unwrap().as_ref(), Some(&held));
    // Force-release with the Rust holder's nonce; its heartbeat is fenced.
    assert!(
        !js_lock.force_release("not-the-nonce").await.unwrap(),
        "a wrong nonce frees nothing"
    );
    let nonce = held.nonce.clone().unwrap();
    assert!(js_lock.force_release(&nonce).await.unwrap());
    match rust_lock.heartbeat().await {
        Err(HostError::Datastore(DatastoreError::LockLost(_))) => {}
        other => panic!("fs-datastore's heartbeat after a force-release: {other:?}"),
    }
    assert_eq!(js_lock.inspect().await.unwrap(), None);
    eprintln!(
        "linear memory of one lock instance: JavaScript {:.1} MiB, Rust {:.1} MiB",
        js_lock.usage().memory_bytes as f64 / 1048576.0,
        rust_lock.usage().memory_bytes as f64 / 1048576.0
    );
}

/// Lock bodies other clients may leave (from the hostile corpus,
/// `hostile/lock/`), where JavaScript numbers would lose: a TTL of
/// u64::MAX must come back exact and keep the lock held, as must a lock
/// acquired in the year 9999; a lock that expired long ago is taken over.
#[tokio::test(flavor = "multi_thread")]
async fn lock_bodies_of_other_clients_are_read_exactly() {
    let host = Host::new(HostOptions::default()).unwrap();
    let plugin = load(&host).await;
    let corpus = host_harness::bundled::workspace_root().join("hostile/lock");
    for (case, held) in [
        ("ttl-max.json", true),
        ("far-future.json", true),
        ("expired.json", false),
    ] {
        let body = fs::read(corpus.join(case)).unwrap();
        let expect: Value = serde_json::from_slice(&body).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".datastore.lock");
        fs::write(&file, &body).unwrap();
        let provider = plugin
            .open(config(dir.path()), OpenOptions::default())
            .await
            .unwrap();
        let lock = provider
            .create_lock(dir.path().to_str().unwrap(), quick())
            .await
            .unwrap();
        let info = lock.inspect().await.unwrap().expect(case);
        assert_eq!(info.holder, "mallory@evil", "{case}");
        assert_eq!(Some(info.ttl_ms), expect["ttlMs"].as_u64(), "{case}: ttlMs");
        assert_eq!(info.acquired_at, expect["acquiredAt"], "{case}");
        if held {
            times_out_naming(&lock, &info, case).await;
            assert_eq!(fs::read(&file).unwrap(), body, "{case}: left as it was");
        } else {
            lock.acquire().await.unwrap();
            let ours = lock.inspect().await.unwrap().unwrap();
            assert_ne!(ours.holder, "mallory@evil", "{case}: taken over");
            lock.release().await.unwrap();
            assert!(!file.exists(), "{case}");
        }
    }
}
