//! Builds the test guests (the `test-guests` package: every bin is one
//! component), fs-datastore and s3-datastore for wasm32-wasip2 in one cargo
//! invocation, so their shared dependencies compile once, then writes
//! `$OUT_DIR/guests.rs`: a path constant per component and the
//! `foreach_broken!` macro (src/lib.rs).
//!
//! The inner cargo uses its own target directory under `OUT_DIR`: the cargo
//! running this script holds the lock on the workspace's target directory
//! until the script ends, so an inner build there would wait forever.
//!
//! Cargo reruns this script when a source file any component was built
//! from changes (the dep-info files the inner build writes list them), or
//! when a file under `guest/test-guests/src` appears or goes (a new guest).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-wasip2";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let package = manifest_dir
        .parent()
        .ok_or("the artifacts crate has no parent directory")?
        .to_path_buf();
    let root = package
        .ancestors()
        .nth(2)
        .ok_or("cannot find the workspace root above guest/test-guests")?
        .to_path_buf();
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let bins = broken_and_hostile_bins(&package.join("src/bin"))?;
    println!("cargo:rerun-if-changed={}", package.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        package.join("Cargo.toml").display()
    );

    ensure_wasm_target(&root)?;
    let target_dir = out_dir.join("target");
    build(&root, &target_dir)?;

    let wasm_dir = target_dir.join(TARGET).join("release");
    let mut sources = BTreeSet::new();
    let mut code = String::new();
    let mut broken = Vec::new();
    for (constant, artifact) in [
        ("FS_DATASTORE", "fs_datastore"),
        ("S3_DATASTORE", "s3_datastore"),
        ("DIR_DATASTORE", "dir_datastore"),
    ]
    .into_iter()
    .map(|(c, a)| (c.to_string(), a.to_string()))
    .chain(bins.iter().map(|b| (b.to_uppercase(), b.clone())))
    {
        let wasm = wasm_dir.join(format!("{artifact}.wasm"));
        if !wasm.is_file() {
            return Err(format!("{} was not produced by the build", wasm.display()));
        }
        sources.extend(dep_info_sources(&wasm.with_extension("d"), &root)?);
        writeln!(
            code,
            "pub const {constant}: &str = {:?};",
            wasm.display().to_string()
        )
        .map_err(|e| e.to_string())?;
        if let Some(name) = artifact.strip_prefix("broken_") {
            broken.push((name.to_string(), constant));
        }
    }
    for file in &sources {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    code.push_str(
        "/// Calls `$mac!(name, path)` once per broken guest (`name` as in\n\
         /// `src/bin/broken_<name>.rs`, `path` its component).\n\
         #[macro_export]\n\
         macro_rules! foreach_broken {\n    ($mac:ident) => {\n",
    );
    for (name, constant) in &broken {
        writeln!(code, "        $mac!({name}, $crate::{constant});").map_err(|e| e.to_string())?;
    }
    code.push_str("    };\n}\n");
    let generated = out_dir.join("guests.rs");
    std::fs::write(&generated, code)
        .map_err(|e| format!("cannot write {}: {e}", generated.display()))
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name} for the build script"))
}

/// The bins of the test-guests package: `broken_<name>` and `hostile`, one
/// `.rs` file each under `src/bin` (cargo's own rule for naming bins).
fn broken_and_hostile_bins(dir: &Path) -> Result<Vec<String>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut bins = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            if stem != "hostile" && !stem.starts_with("broken_") {
                return Err(format!(
                    "{}: a test guest is named hostile.rs or broken_<name>.rs",
                    path.display()
                ));
            }
            bins.push(stem.into_owned());
        }
    }
    bins.sort();
    Ok(bins)
}

/// `scripts/ensure-wasm-target.sh`: adds the target with rustup when the
/// toolchain lacks it (the script says why that is a step of its own), and
/// otherwise fails with the script's own paragraph on what is missing.
fn ensure_wasm_target(root: &Path) -> Result<(), String> {
    let script = root.join("scripts/ensure-wasm-target.sh");
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr.trim();
    Err(message
        .strip_prefix("error: ")
        .unwrap_or(message)
        .to_string())
}

fn build(root: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "--target", TARGET])
        .args([
            "-p",
            "test-guests",
            "-p",
            "fs-datastore",
            "-p",
            "s3-datastore",
            "-p",
            "dir-datastore",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        // These flags are the outer build's, for the host; the guests are
        // built as `make build` builds them.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        // Under `cargo clippy` this names clippy-driver; the components
        // need rustc only (`make lint` lints the guests' sources itself).
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run cargo to build the test guests: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "building the test guests, fs-datastore, s3-datastore and dir-datastore for {TARGET} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// The workspace files listed in a dep-info file (`<artifact>.d`, make
/// syntax: `target: dep dep ...`, a space inside a path escaped as `\ `);
/// registry sources are left out, they do not change.
fn dep_info_sources(dep_info: &Path, root: &Path) -> Result<BTreeSet<PathBuf>, String> {
    let text = std::fs::read_to_string(dep_info)
        .map_err(|e| format!("cannot read {}: {e}", dep_info.display()))?;
    let mut files = BTreeSet::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut current = String::new();
        for part in deps.split(' ') {
            if let Some(escaped) = part.strip_suffix('\\') {
                current.push_str(escaped);
                current.push(' ');
                continue;
            }
            current.push_str(part);
            let file = PathBuf::from(std::mem::take(&mut current));
            if file.starts_with(root) && !file.starts_with(root.join("target")) {
                files.insert(file);
            }
        }
    }
    Ok(files)
}
