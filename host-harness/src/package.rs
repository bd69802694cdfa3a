//! `host-harness package`: a datastore component as a swamp extension
//! folder that swamp (Deno) loads like any TypeScript datastore.
//!
//! ```text
//! OUT/manifest.yaml                          datastores: [{stem}.ts]
//! OUT/extensions/datastores/{stem}.ts        the generated `datastore` export
//! OUT/extensions/datastores/_{stem}/
//!     component/   jco's transpilation (JS; core wasm modules in cores.js)
//!     runtime/     the TypeScript glue (packaging/js) and ajv bundled
//!     vendor/preview2-shim/   WASI for JavaScript, vendored
//!     native/native.js  swamp-host as a library and the component (native path)
//! ```
//!
//! Two paths run the component (README, "Using a component in swamp"): the
//! native one loads swamp-host (`swamp-host/ffi`, built for the packaging
//! machine's OS and CPU) with Deno FFI; the portable one runs jco's
//! transpilation on any platform, and is taken wherever the native library
//! does not fit.
//!
//! Everything the extension imports is inside the folder, so it loads
//! offline and always with the versions pinned in `packaging/npm`; nothing
//! is read from beside a module at run time, so it still works after swamp
//! bundles it into one file.

mod bundling;
mod module;
mod native;
mod tools;

pub use native::{NativeLibrary, default_native_library};

pub use tools::Tools;

use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use swamp_host::{Host, HostOptions};

/// The hand-written runtime the generated module imports (`packaging/js`),
/// compiled into the binary so `package` works from anywhere.
const RUNTIME: &[(&str, &str)] = &[
    (
        "datastore.ts",
        include_str!("../../packaging/js/datastore.ts"),
    ),
    ("lock.ts", include_str!("../../packaging/js/lock.ts")),
    ("sync.ts", include_str!("../../packaging/js/sync.ts")),
    (
        "shared_store.ts",
        include_str!("../../packaging/js/shared_store.ts"),
    ),
    ("schema.ts", include_str!("../../packaging/js/schema.ts")),
    ("errors.ts", include_str!("../../packaging/js/errors.ts")),
    ("convert.ts", include_str!("../../packaging/js/convert.ts")),
    ("wasi.ts", include_str!("../../packaging/js/wasi.ts")),
    ("native.ts", include_str!("../../packaging/js/native.ts")),
    (
        "native_provider.ts",
        include_str!("../../packaging/js/native_provider.ts"),
    ),
    ("worker.ts", include_str!("../../packaging/js/worker.ts")),
    (
        "sync_worker.ts",
        include_str!("../../packaging/js/sync_worker.ts"),
    ),
    ("ajv.d.ts", include_str!("../../packaging/js/ajv.d.ts")),
];

/// `defaults.ts` of the runtime, written from the Rust constants: the lock
/// defaults have one source, `LockOptions` (`types/src/lock.rs`). The
/// checked-in `packaging/js/defaults.ts`, which the Deno tests import as
/// it is, is held to this text by a test below.
fn js_defaults() -> String {
    use swamp_host::LockOptions as L;
    format!(
        "// swamp's lock defaults for the TypeScript runtime. Generated from\n\
         // types/src/lock.rs (LockOptions::DEFAULT_*) by host-harness/src/package.rs,\n\
         // whose test fails when this file differs; edit the Rust, not this.\n\
         export const DEFAULT_TTL_MS = {};\n\
         export const DEFAULT_RETRY_INTERVAL_MS = {};\n\
         export const DEFAULT_MAX_WAIT_MS = {};\n",
        L::DEFAULT_TTL_MS,
        L::DEFAULT_RETRY_INTERVAL_MS,
        L::DEFAULT_MAX_WAIT_MS
    )
}
const AJV_ENTRY: &str = include_str!("../../packaging/js/ajv_entry.js");

/// What `package` produced.
#[derive(Debug)]
pub struct Packaged {
    /// `OUT/extensions/datastores/{stem}.ts`.
    pub module: PathBuf,
    /// `OUT/manifest.yaml`.
    pub manifest: PathBuf,
    /// The datastore type the component declares.
    pub datastore_type: String,
}

/// Package `component` into the extension folder `out` (created, or
/// updated: other packaged datastores in it are kept and listed too).
pub async fn package(
    component: &Path,
    out: &Path,
    tools: &Tools,
    native: Option<&NativeLibrary>,
) -> Result<Packaged> {
    let host = Host::new(HostOptions::default())?;
    let plugin = host.load(component).await.with_context(|| {
        format!(
            "{} is not a loadable datastore component",
            component.display()
        )
    })?;
    let stem = module_stem(component)?;
    let wasm_name = component
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let datastores = out.join("extensions").join("datastores");
    let lib = datastores.join(format!("_{stem}"));
    if lib.exists() {
        fs::remove_dir_all(&lib).with_context(|| format!("cannot replace {}", lib.display()))?;
    }
    fs::create_dir_all(&lib).with_context(|| format!("cannot create {}", lib.display()))?;

    let component_dir = lib.join("component");
    run(
        Command::new(tools.jco())
            .arg("transpile")
            .arg(component)
            .arg("-o")
            .arg(&component_dir)
            // Sync instantiation: createProvider is synchronous in swamp's
            // contract, and the core modules are compiled once at load.
            .args([
                "--instantiation",
                "sync",
                "--name",
                &stem,
                "--no-typescript",
                "-q",
            ]),
        "jco transpile",
    )?;
    bundling::embed_core_modules(&component_dir)?;

    let runtime = lib.join("runtime");
    fs::create_dir_all(&runtime)?;
    for (name, text) in RUNTIME {
        fs::write(runtime.join(name), text)?;
    }
    fs::write(runtime.join("defaults.ts"), js_defaults())?;
    bundle_ajv(tools, &runtime.join("ajv.js"))?;

    let shim_src = tools.preview2_shim();
    let shim = lib.join("vendor").join("preview2-shim");
    copy_dir(&shim_src.join("dist"), &shim.join("dist"))?;
    fs::copy(shim_src.join("package.json"), shim.join("package.json"))?;
    if shim_src.join("LICENSE").is_file() {
        fs::copy(shim_src.join("LICENSE"), shim.join("LICENSE"))?;
    }
    bundling::embed_shim_worker(&shim)?;
    // After the shim is patched: the worker bundle includes it.
    bundling::embed_sync_worker(&tools.deno(), &lib, &stem)?;
    native::write_payload(&lib.join("native"), native, component)?;

    let module = datastores.join(format!("{stem}.ts"));
    fs::write(
        &module,
        module::module_source(&stem, &wasm_name, plugin.info(), plugin.schema())?,
    )?;
    module::write_manifest(out, &datastores)?;
    Ok(Packaged {
        module,
        manifest: out.join("manifest.yaml"),
        datastore_type: plugin.info().datastore_type.clone(),
    })
}

/// The module name: the file stem, lower-case, `-` as `_` (`fs_datastore`).
fn module_stem(component: &Path) -> Result<String> {
    let stem = component
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase().replace('-', "_"))
        .unwrap_or_default();
    if stem.is_empty()
        || !stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!(
            "cannot name a module after {}: the file name must be letters, digits, '-' or '_' before .wasm",
            component.display()
        );
    }
    Ok(stem)
}

/// ajv as one ES module, so the extension resolves no npm package at load.
fn bundle_ajv(tools: &Tools, dest: &Path) -> Result<()> {
    // The entry must sit where `ajv` resolves: in the tools folder.
    let entry = tempfile::Builder::new()
        .prefix(".ajv-entry-")
        .suffix(".js")
        .tempfile_in(tools.root())?;
    fs::write(entry.path(), AJV_ENTRY)?;
    run(
        Command::new(tools.rolldown())
            .arg(entry.path())
            .args(["--format", "esm", "--platform", "neutral", "--file"])
            .arg(dest)
            .current_dir(tools.root()),
        "rolldown (bundling ajv)",
    )
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {what} (is Node.js installed?)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

// Hand-written: a plain recursive copy of a small tree is shorter than a
// dependency for it.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_js_lock_defaults_are_the_rust_ones() {
        assert_eq!(
            include_str!("../../packaging/js/defaults.ts"),
            js_defaults(),
            "packaging/js/defaults.ts differs from LockOptions' constants; write it anew with the expected text"
        );
    }

    #[test]
    fn module_stems_are_lowercase_identifiers() {
        assert_eq!(
            module_stem(Path::new("/x/fs_datastore.wasm")).unwrap(),
            "fs_datastore"
        );
        assert_eq!(module_stem(Path::new("My-Store.wasm")).unwrap(), "my_store");
        let err = module_stem(Path::new("/x/bad name.wasm")).unwrap_err();
        assert!(err.to_string().contains("bad name.wasm"), "{err}");
        assert!(module_stem(Path::new("/x/ünï.wasm")).is_err());
    }
}
