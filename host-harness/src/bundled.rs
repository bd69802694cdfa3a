//! The bundled guests and the native library, built on demand from this
//! workspace: for `host-harness` with no arguments (README.md, "Set up and
//! run"), and for the tools that measure the components `make build` makes
//! (`bench`, `reliability`).
//!
//! They are built at run time, not from a build script, so that the host
//! builds without them and the components land where `make build` puts them
//! (`target/wasm32-wasip2/release/<crate_name>.wasm`); at run time the lock
//! cargo holds on that target directory during a build is free. (Tests of a
//! component take it from `guest/test-guests/artifacts` instead, built at
//! compile time into a target directory of its own; the reliability
//! scenarios, run at full size by `make stress`, use this module.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The workspace root, known at compile time.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where cargo puts release components for wasm32-wasip2.
pub fn wasm_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("wasm32-wasip2").join("release")
}

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
static TARGET_READY: Mutex<bool> = Mutex::new(false);

/// Make sure the toolchain can build for wasm32-wasip2, adding the target
/// with rustup when it is missing (`scripts/ensure-wasm-target.sh` says why
/// this is a step of its own). Runs the script once per process; the error
/// is the script's own paragraph: what is missing and the command that
/// fixes it.
pub fn ensure_wasm_target() -> Result<(), String> {
    let mut ready = TARGET_READY.lock().unwrap_or_else(|p| p.into_inner());
    if *ready {
        return Ok(());
    }
    let script = workspace_root().join("scripts/ensure-wasm-target.sh");
    let output = Command::new("bash")
        .arg(&script)
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let message = stderr.trim();
        let message = message.strip_prefix("error: ").unwrap_or(message);
        return Err(message.to_string());
    }
    // The script's progress line ("installing the Rust target ...").
    eprint!("{stderr}");
    *ready = true;
    Ok(())
}

/// Build the guest crate `crate_name` for wasm32-wasip2 (once per process;
/// cargo itself does nothing when it is up to date) and return the path of
/// its component.
pub fn guest(crate_name: &str) -> Result<PathBuf, String> {
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get_or_insert_with(HashMap::new).get(crate_name) {
        return Ok(path.clone());
    }
    ensure_wasm_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            crate_name,
        ])
        .output()
        .map_err(|e| format!("cannot run cargo to build {crate_name}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building {crate_name} for wasm32-wasip2 failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let wasm = wasm_dir().join(format!("{}.wasm", crate_name.replace('-', "_")));
    if !wasm.exists() {
        return Err(format!("{} was not produced by the build", wasm.display()));
    }
    built
        .get_or_insert_with(HashMap::new)
        .insert(crate_name.to_string(), wasm.clone());
    Ok(wasm)
}

static NATIVE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The file name cargo gives the `swamp-host-ffi` library on this OS.
pub fn native_library_file_name() -> &'static str {
    match std::env::consts::OS {
        "macos" => "libswamp_host_ffi.dylib",
        "windows" => "swamp_host_ffi.dll",
        _ => "libswamp_host_ffi.so",
    }
}

/// Build `swamp-host-ffi` (the native path of a packaged extension) with
/// the profile this code was built with, once per process, and return the
/// path of the shared library.
pub fn native_library() -> Result<PathBuf, String> {
    let mut built = NATIVE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.as_ref() {
        return Ok(path.clone());
    }
    let release = !cfg!(debug_assertions);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "-p", "swamp-host-ffi"]);
    if release {
        cmd.arg("--release");
    }
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run cargo to build swamp-host-ffi: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building swamp-host-ffi failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let lib = target
        .join(if release { "release" } else { "debug" })
        .join(native_library_file_name());
    if !lib.is_file() {
        return Err(format!("{} was not produced by the build", lib.display()));
    }
    *built = Some(lib.clone());
    Ok(lib)
}
