//! Scenarios that drive a datastore's sync service the way swamp's CLI
//! does, shared by the component tests of every backend.
//!
//! `swamp model method run` (and a workflow step): swamp names the model
//! it runs in `context.models`, but one run writes files outside that
//! model's folders too: the output record lives under the method's name,
//! the evaluated definition under the model's name, a workflow's run record
//! under `workflow-runs/`. Every path it marked dirty must be pushed
//! whatever the context says (the context may only narrow a pull). The
//! tests: `swamp-host/tests/all/fs/datastore.rs` (fs-datastore in cache
//! mode), `swamp-host/tests/all/s3/datastore.rs` (s3-datastore on
//! SeaweedFS) and, through Deno, `packaging/tests/model_run.test.ts`.

use std::collections::BTreeMap;
use std::path::Path;
use swamp_host::{LockOptions, Provider, SyncOptions};

/// swamp's normalized model type, the definition's id (a UUID) and name,
/// and the method run.
pub const RUN_TYPE: &str = "command/shell";
pub const RUN_ID: &str = "5d0c8f3e-2b71-4a96-8e4f-9a3c1b7d6e20";
pub const RUN_NAME: &str = "hello";
pub const RUN_METHOD: &str = "execute";
/// The workflow, and its run, of the one-phase scenario.
pub const WORKFLOW_ID: &str = "c41d7a52-93e8-4f0b-b6a1-0e2f58d9c374";
pub const WORKFLOW_RUN_ID: &str = "8a9b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d";

pub fn run_models() -> Vec<swamp_host::ModelRef> {
    vec![swamp_host::ModelRef {
        model_type: RUN_TYPE.into(),
        model_id: RUN_ID.into(),
    }]
}

/// The data directory of the model: the only files a push filtered by
/// `context.models` would upload.
pub fn run_data_dir() -> String {
    format!("data/{RUN_TYPE}/{RUN_ID}/")
}

/// Announce `rel` (a file or a directory), as swamp does before it writes.
pub async fn mark(svc: &swamp_host::SyncService, rel: &str) {
    svc.mark_dirty(&SyncOptions::rel_path(rel))
        .await
        .unwrap_or_else(|e| panic!("mark-dirty {rel}: {e}"));
}

/// Write `bytes` at `cache/rel` and remember them as the file's content.
pub fn put(cache: &Path, files: &mut BTreeMap<String, Vec<u8>>, rel: &str, bytes: Vec<u8>) {
    let p = cache.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, &bytes).unwrap();
    files.insert(rel.to_string(), bytes);
}

/// What one method run of `hello` writes into the cache, in swamp's order,
/// each mark-dirty before its write and at swamp's granularity: the YAML
/// records are announced file by file; a data item's directory is announced
/// before a version is allocated, and a streamed file's version directory
/// again when it is finalised. `stamp` is the run's start time as it
/// appears in the output record's file name. Returns every file written
/// with its final bytes (the output record is written twice).
pub async fn method_run(
    svc: &swamp_host::SyncService,
    cache: &Path,
    version: u32,
    stamp: &str,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let evaluated = format!("definitions-evaluated/{RUN_TYPE}/{RUN_NAME}.yaml");
    mark(svc, &evaluated).await;
    put(
        cache,
        &mut files,
        &evaluated,
        format!("id: {RUN_ID}\nname: {RUN_NAME}\ntype: {RUN_TYPE}\nrun: {version}\n").into_bytes(),
    );
    let output = format!("outputs/{RUN_TYPE}/{RUN_METHOD}/{RUN_ID}-{stamp}.yaml");
    mark(svc, &output).await;
    put(
        cache,
        &mut files,
        &output,
        format!("definitionId: {RUN_ID}\nstatus: running\n").into_bytes(),
    );
    // The `result` resource: one save.
    let result = format!("{}result", run_data_dir());
    mark(svc, &result).await;
    put(
        cache,
        &mut files,
        &format!("{result}/{version}/metadata.yaml"),
        format!("name: result\nversion: {version}\n").into_bytes(),
    );
    put(
        cache,
        &mut files,
        &format!("{result}/{version}/raw"),
        format!("{{\"exitCode\":0,\"run\":{version}}}").into_bytes(),
    );
    put(
        cache,
        &mut files,
        &format!("{result}/latest"),
        version.to_string().into_bytes(),
    );
    // The `log` file: version allocated, content streamed, then finalised.
    let log = format!("{}log", run_data_dir());
    mark(svc, &log).await;
    let mut bytes: Vec<u8> = (0..=255u8).collect(); // not UTF-8: bytes, not text
    bytes.extend(format!("[stdout]\nhello {version}\n").into_bytes());
    put(cache, &mut files, &format!("{log}/{version}/raw"), bytes);
    mark(svc, &format!("{log}/{version}")).await;
    put(
        cache,
        &mut files,
        &format!("{log}/{version}/metadata.yaml"),
        format!("name: log\nversion: {version}\n").into_bytes(),
    );
    put(
        cache,
        &mut files,
        &format!("{log}/latest"),
        version.to_string().into_bytes(),
    );
    // The output record again, with the final status.
    mark(svc, &output).await;
    put(
        cache,
        &mut files,
        &output,
        format!("definitionId: {RUN_ID}\nstatus: succeeded\nrun: {version}\n").into_bytes(),
    );
    files
}

/// Every file of a cache but the sync service's own (its dot-files and the
/// never-synced `_index/` at the root, where the base index lives: see
/// `guest/sdk/src/sync/base/`), with its bytes.
pub fn cache_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if dir == root && (rel.starts_with('.') || rel == "_index") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// `got` holds exactly `want`, byte for byte.
pub fn same_files(what: &str, want: &BTreeMap<String, Vec<u8>>, got: &BTreeMap<String, Vec<u8>>) {
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, unexpected {extra:?}"
    );
    for (rel, bytes) in want {
        assert!(got[rel] == *bytes, "{what}: {rel} differs");
    }
}

/// What a scenario checks in the store behind the datastore, directly.
pub trait Store {
    /// A lock is held at this key (relative to the datastore's root).
    fn holds_lock(&self, key: &str) -> bool;
    /// The store holds each of these files (datastore-relative) as given;
    /// panics naming the first that differs.
    fn holds_files(&self, files: &BTreeMap<String, Vec<u8>>);
}

/// A path as the `&str` the host's calls take (test paths are UTF-8); the
/// one copy every component test and the bench use.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// One `swamp model method run` of `hello` on machine A, as swamp's CLI
/// drives it: the per-model lock at swamp's key, a pull scoped to the
/// model, the run's writes with swamp's marks, then the two-phase push
/// (prepare with `context.models` under the model's lock, commit under the
/// global lock too). A second machine pulls, scoped and then in full, and
/// must hold every file byte for byte. Then a workflow step on A through
/// the one-phase path (`push-changed` with the step's model), pulled again.
/// `repo` is the repository directory, `work` an empty directory for the
/// caches.
pub async fn model_method_run(provider: &Provider, repo: &Path, work: &Path, store: &dyn Store) {
    let datastore = provider.resolve_datastore_path(s(repo)).await.unwrap();
    let cache = |name: &str| work.join(name);
    let (ca, cb, cc) = (cache("cache-a"), cache("cache-b"), cache("cache-c"));
    let sync = |c: std::path::PathBuf| {
        let (provider, repo) = (provider.clone(), repo.to_path_buf());
        async move {
            provider
                .create_sync_service(s(&repo), s(&c))
                .await
                .unwrap()
                .expect("the datastore has a sync service")
        }
    };
    let a = sync(ca.clone()).await;
    let caps = a.capabilities().await.unwrap();
    assert!(
        caps.scoped_sync && caps.two_phase_sync,
        "swamp's two-phase, scoped path needs both: {caps:?}"
    );
    let scoped = SyncOptions::default().with_models(run_models());

    // Machine A runs `hello`'s method under the model's lock, pulling the
    // model first and pushing in two phases: upload under the model's lock
    // alone, index commit under the global lock too.
    let model_lock = provider
        .create_lock(
            &datastore,
            LockOptions::with_key(format!("data/{RUN_TYPE}/{RUN_ID}/.lock")),
        )
        .await
        .unwrap();
    model_lock.acquire().await.unwrap();
    let lock_key = format!("data/{RUN_TYPE}/{RUN_ID}/.lock");
    assert!(
        store.holds_lock(&lock_key),
        "the per-model lock is not stored at swamp's key {lock_key}"
    );
    assert_eq!(a.pull_changed(&scoped).await.unwrap(), 0);
    let first = method_run(&a, &ca, 1, "2026-08-22T10-15-30-123Z").await;
    assert_eq!(first.len(), 8);
    let outside: Vec<&String> = first
        .keys()
        .filter(|k| !k.starts_with(&run_data_dir()))
        .collect();
    assert_eq!(
        outside.len(),
        2,
        "files outside the model's data: {outside:?}"
    );
    let manifest = a.prepare_push(&scoped).await.unwrap();
    assert_eq!(
        manifest.pushed as usize,
        first.len(),
        "prepare-push with context.models must upload every marked file, \
         the output record and the evaluated definition too"
    );
    assert_eq!(manifest.deleted, 0);
    let global = provider
        .create_lock(&datastore, LockOptions::default())
        .await
        .unwrap();
    assert_eq!(global.key(), ".datastore.lock");
    global.acquire().await.unwrap();
    let committed = a.commit_push(&manifest, &SyncOptions::default()).await;
    global.release().await.unwrap();
    model_lock.release().await.unwrap();
    assert_eq!(committed.unwrap() as usize, first.len());
    // The store itself holds every file as written.
    store.holds_files(&first);
    assert_eq!(
        a.push_changed(&scoped).await.unwrap(),
        0,
        "nothing left dirty"
    );

    // A second machine: a pull scoped to the model brings the model's own
    // files; an unscoped pull (`swamp datastore sync`) brings everything.
    let c = sync(cc.clone()).await;
    let n = c.pull_changed(&scoped).await.unwrap() as usize;
    let got = cache_tree(&cc);
    assert_eq!(n, got.len());
    for (rel, bytes) in first.iter().filter(|(k, _)| k.starts_with(&run_data_dir())) {
        assert!(
            got.get(rel) == Some(bytes),
            "a scoped pull did not bring {rel}"
        );
    }
    let b = sync(cb.clone()).await;
    assert_eq!(
        b.pull_changed(&SyncOptions::default()).await.unwrap() as usize,
        first.len()
    );
    same_files("cache B after the two-phase push", &first, &cache_tree(&cb));

    // A workflow step on machine A, through the one-phase path: the run
    // record is saved (and marked) before the step takes the model's lock;
    // the step runs the method again; pushChanged names the step's model.
    let record = format!("workflow-runs/{WORKFLOW_ID}/workflow-run-{WORKFLOW_RUN_ID}.yaml");
    mark(&a, &record).await;
    let mut changed = BTreeMap::new();
    put(
        &ca,
        &mut changed,
        &record,
        format!("id: {WORKFLOW_RUN_ID}\nworkflowId: {WORKFLOW_ID}\nstatus: running\n").into_bytes(),
    );
    model_lock.acquire().await.unwrap();
    assert_eq!(a.pull_changed(&scoped).await.unwrap(), 0);
    let second = method_run(&a, &ca, 2, "2026-08-22T10-16-02-456Z").await;
    changed.extend(second);
    global.acquire().await.unwrap();
    let pushed = a.push_changed(&scoped).await;
    global.release().await.unwrap();
    model_lock.release().await.unwrap();
    assert_eq!(
        pushed.unwrap() as usize,
        changed.len(),
        "push-changed with context.models must upload every marked file, \
         the workflow's run record too"
    );
    assert_eq!(
        b.pull_changed(&SyncOptions::default()).await.unwrap() as usize,
        changed.len()
    );
    let a_tree = cache_tree(&ca);
    assert_eq!(a_tree.len(), first.len() + changed.len() - 3); // 3 rewritten in place
    same_files(
        "cache B after the one-phase push",
        &a_tree,
        &cache_tree(&cb),
    );
}
