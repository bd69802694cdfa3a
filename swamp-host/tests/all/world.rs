//! The world `datastore-provider` (wit/world.wit) is the whole sandbox
//! contract: every guest built here fits it, the host links every import
//! it lists, and a component importing anything else does not load.

use std::path::{Path, PathBuf};
use swamp_host::{Host, HostError, HostOptions};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{ManglingAndAbi, Resolve, WorldId};

/// This workspace's root (the tests run from swamp-host).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// wit/ parsed, with `extra` (a WIT package of the test's own, which may
/// use wit/'s packages) pushed after it; the world named `world` of the
/// last package pushed.
fn world(extra: Option<&str>, world: &str) -> (Resolve, WorldId) {
    let mut resolve = Resolve::default();
    let wit = workspace_root().join("wit");
    let (mut main, _) = resolve.push_dir(&wit).unwrap();
    if let Some(text) = extra {
        main = resolve.push_str("test.wit", text).unwrap();
    }
    let id = resolve.select_world(&[main], Some(world)).unwrap();
    (resolve, id)
}

/// A component that imports exactly `world`'s imports and exports its
/// exports (every function an `unreachable`).
fn component_of(resolve: &Resolve, world: WorldId) -> Vec<u8> {
    let mut module = wit_component::dummy_module(resolve, world, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        StringEncoding::UTF8,
        false,
    )
    .unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

async fn load(bytes: &[u8]) -> Result<swamp_host::Plugin, HostError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.wasm");
    std::fs::write(&path, bytes).unwrap();
    let host = Host::new(HostOptions {
        cache_dir: None,
        ..HostOptions::default()
    })
    .unwrap();
    host.load(&path).await
}

/// What wasm-tools' `component targets` checks, by the same crate: every
/// import of the component is one the world offers (semver-compatible
/// WASI 0.2.x versions match), and it exports what the world exports.
/// Every component test-guests-artifacts builds (the datastores, the
/// example, the hostile and the broken guests), and the JavaScript example
/// when its test has built it.
#[test]
fn every_built_guest_fits_the_world() {
    let (resolve, id) = world(None, "datastore-provider");
    use test_guests_artifacts::{DIR_DATASTORE, FS_DATASTORE, HOSTILE, S3_DATASTORE};
    let mut components: Vec<PathBuf> = [FS_DATASTORE, S3_DATASTORE, DIR_DATASTORE, HOSTILE]
        .iter()
        .map(PathBuf::from)
        .collect();
    let dir = Path::new(HOSTILE).parent().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wasm") && !components.contains(&path) {
            components.push(path);
        }
    }
    assert!(components.len() > 80, "the broken guests are there too");
    let js = workspace_root().join("target/js-datastore/js_datastore.wasm");
    if js.is_file() {
        components.push(js);
    }
    let mut misfits = Vec::new();
    for path in &components {
        let bytes = std::fs::read(path).unwrap();
        if let Err(e) = wit_component::targets(&resolve, id, &bytes, true) {
            misfits.push(format!("{}: {e:#}", name(path)));
        }
    }
    eprintln!("{} components checked", components.len());
    assert!(
        misfits.is_empty(),
        "components that do not fit the world:\n{}",
        misfits.join("\n")
    );
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The host's linker (swamp-host/src/linker.rs) against the world:
/// a component importing every import of the world gets past linking. Its
/// exports are `unreachable`, so the load stops at the first call into it,
/// not before: were one import not linked, it would stop at linking, with
/// that import's name.
#[tokio::test(flavor = "multi_thread")]
async fn the_host_links_every_import_of_the_world() {
    let (resolve, id) = world(None, "datastore-provider");
    assert!(
        resolve.worlds[id].imports.len() > 20,
        "the world lists its WASI imports"
    );
    match load(&component_of(&resolve, id)).await {
        Err(HostError::Trap { reason, .. }) => {
            assert!(reason.contains("unreachable"), "{reason}")
        }
        Err(e) => panic!("the world's imports must all link: {e}"),
        Ok(_) => panic!("the test component cannot answer a call"),
    }
}

/// No sockets and no name lookups: not refused at run time but absent, so
/// a component that asks for them fails to load, with the import named.
#[tokio::test(flavor = "multi_thread")]
async fn a_component_importing_sockets_does_not_load() {
    let (resolve, id) = world(
        Some(
            "package test:sockets;\n\
             world with-sockets {\n\
                 include swamp:datastore/datastore-provider@0.1.1;\n\
                 import wasi:sockets/tcp@0.2.12;\n\
             }\n",
        ),
        "with-sockets",
    );
    match load(&component_of(&resolve, id)).await {
        Err(HostError::Load { reason, .. }) => {
            // wasmtime names the first import it cannot satisfy:
            // wasi:sockets/network, which tcp's types come from.
            assert!(reason.contains("`wasi:sockets/"), "{reason}");
            assert!(reason.contains("wit/world.wit"), "{reason}");
        }
        Err(e) => panic!("expected a load error naming the import, got {e}"),
        Ok(_) => panic!("a component importing wasi:sockets loaded"),
    }
}
