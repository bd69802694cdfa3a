//! Sync between a cache and the remote store (reference f.4, a.5, c.3,
//! c.14): swamp's kit, then round trips between two caches, exact counts,
//! the eight markDirty rules, and every advertised capability exercised.
//!
//! Every check is skipped when the provider has no sync service.

use crate::framework::{
    Check, Ctx, Fixture, OrFail, Outcome, Status, Suite, check, ensure, fail, skip,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use swamp_host::{
    DatastoreError, HostError, ModelRef, PushPreview, SyncCapabilities, SyncOptions, SyncService,
};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "sync.callable",
            Suite::Sync,
            "mark-dirty, pull-changed and push-changed are callable on an empty cache and return counts",
            callable
        ),
        check!(
            "sync.capabilities-well-formed",
            Suite::Sync,
            "capabilities is callable and the same on every call and every instance",
            capabilities_well_formed
        ),
        check!(
            "sync.unadvertised-unsupported",
            Suite::Sync,
            "optional calls whose capability is not advertised fail with unsupported",
            unadvertised_unsupported
        ),
        check!(
            "sync.round-trip",
            Suite::Sync,
            "a tree pushed from one cache and pulled into a fresh one is identical byte for byte",
            round_trip
        ),
        check!(
            "sync.counts-exact",
            Suite::Sync,
            "push returns files uploaded + deleted and pull files downloaded, exactly",
            counts_exact
        ),
        check!(
            "sync.zero-diff-push",
            Suite::Sync,
            "a push with nothing changed returns 0, also after a bulk mark-dirty",
            zero_diff_push
        ),
        check!(
            "sync.zero-diff-pull",
            Suite::Sync,
            "a pull with nothing changed remotely returns 0",
            zero_diff_pull
        ),
        check!(
            "sync.same-size-edit",
            Suite::Sync,
            "an edit that keeps the file size is synced both ways (content compared by hash, not size)",
            same_size_edit
        ),
        check!(
            "sync.deletion-propagates",
            Suite::Sync,
            "a file deleted (and marked) in one cache is deleted remotely and in the other cache on pull",
            deletion_propagates
        ),
        check!(
            "sync.pull-keeps-local-edits",
            Suite::Sync,
            "pull never overwrites a local file with unpushed edits",
            pull_keeps_local_edits
        ),
        check!(
            "sync.pull-keeps-new-local-files",
            Suite::Sync,
            "pull never deletes a new local file the remote does not have yet, marked or not",
            pull_keeps_new_local_files
        ),
        check!(
            "sync.bulk-mark-pushes-deletions",
            Suite::Sync,
            "after a bulk mark-dirty, a file deleted locally (never marked on its own) is deleted remotely and in the other cache",
            bulk_mark_pushes_deletions
        ),
        check!(
            "sync.marked-directory-deep",
            Suite::Sync,
            "a marked directory covers its whole subtree: files written two and three levels below it are pushed",
            marked_directory_deep
        ),
        check!(
            "sync.generated-tree",
            Suite::Sync,
            "a generated tree (every size from 0 bytes to past 16 MiB across the split boundaries, names with spaces, punctuation and non-ASCII letters, 1 to 12 levels deep) round-trips byte for byte, and so do edits, resizes and deletions of it; the seed is named on failure",
            generated_tree
        ),
        check!(
            "sync.timeout-honoured",
            Suite::Sync,
            "a push given timeout-ms 50 on 2,000 files stops with aborted soon after it (not run on until the host stops it), and the next push uploads everything it left",
            timeout_honoured
        ),
        check!(
            "sync.concurrent-writers",
            Suite::Sync,
            "three caches pushing into one datastore at the same moment, twice: a fresh cache then pulls the union, byte for byte (no writer's files lost from the index)",
            concurrent_writers
        ),
        check!(
            "sync.rule1-mark-before-write",
            Suite::Sync,
            "markDirty rule 1: mark-dirty(rel) before the write; the push uploads what was written after the mark",
            rule1
        ),
        check!(
            "sync.rule2-absence-deletes",
            Suite::Sync,
            "markDirty rule 2: a marked directory absent at push time deletes its whole remote subtree",
            rule2
        ),
        check!(
            "sync.rule3-bulk-full-walk",
            Suite::Sync,
            "markDirty rule 3: mark-dirty without rel-path makes the next push walk everything",
            rule3
        ),
        check!(
            "sync.rule4-restart",
            Suite::Sync,
            "markDirty rule 4: a marked, unpushed edit is pushed by a new instance on the same cache (restart)",
            rule4
        ),
        check!(
            "sync.rule5-nested-rel-path",
            Suite::Sync,
            "markDirty rule 5: deep forward-slash rel-paths are converted for disk and pushed",
            rule5
        ),
        check!(
            "sync.rule6-idempotent-marks",
            Suite::Sync,
            "markDirty rule 6: repeated marks are idempotent; one changed file is pushed once",
            rule6
        ),
        check!(
            "sync.rule7-rel-path-only-on-mark-dirty",
            Suite::Sync,
            "markDirty rule 7: a rel-path on push/pull is ignored or refused with invalid-argument, never used as a filter",
            rule7
        ),
        check!(
            "sync.rule8-bulk-overrides-path",
            Suite::Sync,
            "markDirty rule 8: bulk then per-path marks in one operation still push everything",
            rule8
        ),
        check!(
            "sync.bad-rel-paths-refused",
            Suite::Sync,
            "absolute, `..`, NUL and backslash rel-paths are refused with invalid-argument",
            bad_rel_paths
        ),
        check!(
            "sync.metadata-only-pull",
            Suite::Sync,
            "lazy-hydration: a metadata-only pull brings everything except data/**/raw content",
            metadata_only_pull
        ),
        check!(
            "sync.hydrate-file",
            Suite::Sync,
            "lazy-hydration: hydrate-file downloads a content file (true) and returns false for a missing one",
            hydrate_file
        ),
        check!(
            "sync.hydrate-atomic",
            Suite::Sync,
            "lazy-hydration: hydrate-file replaces an outdated copy atomically (a complete new file renamed into place)",
            hydrate_atomic
        ),
        check!(
            "sync.scoped-pull",
            Suite::Sync,
            "scoped-sync: a pull with context models brings those models' data and not others'",
            scoped_pull
        ),
        check!(
            "sync.push-ignores-scope",
            Suite::Sync,
            "scoped-sync: a push (and a prepare-push) with context models still uploads every marked file, also those of a model run that lie outside the model's folders",
            push_ignores_scope
        ),
        check!(
            "sync.namespaces-apart",
            Suite::Sync,
            "namespaced-sync: pushes and pulls of one namespace never touch another",
            namespaces_apart
        ),
        check!(
            "sync.two-phase",
            Suite::Sync,
            "two-phase-sync: prepare-push then commit-push equals a push and clears dirty state",
            two_phase
        ),
        check!(
            "sync.preview-push",
            Suite::Sync,
            "preview-push: counts new, changed and deleted files exactly and changes nothing",
            preview_push
        ),
    ]
}

// ---------------------------------------------------------------------------
// Trees and caches.

const MODEL_TYPE: &str = "conformance";

/// The tree every sync check starts from: nested directories, binary
/// content, an empty file, swamp's data layout.
fn base_tree() -> Vec<(&'static str, Vec<u8>)> {
    let binary: Vec<u8> = (0..1024u32).map(|i| (i % 256) as u8).collect();
    let mut state = 0x2545_f491_u32;
    let noise: Vec<u8> = (0..3000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    vec![
        (
            "models/conformance/m1/definition.yaml",
            b"name: m1\ntype: conformance\n".to_vec(),
        ),
        ("data/conformance/m1/out/1/raw", binary),
        (
            "data/conformance/m1/out/1/metadata.yaml",
            b"version: 1\n".to_vec(),
        ),
        ("data/conformance/m1/out/latest", b"1".to_vec()),
        ("data/conformance/m2/out/1/raw", noise),
        ("data/conformance/m2/out/latest", b"1".to_vec()),
        ("workflows/w1.yaml", b"steps: []\n".to_vec()),
        ("notes/empty", Vec::new()),
    ]
}

/// Files that never cross the sync boundary (reference c.3) and
/// guest-private sidecars.
pub(crate) fn is_internal(rel: &str) -> bool {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    matches!(
        base,
        ".datastore-index.json"
            | ".push-queue.json"
            | ".datastore.lock"
            | ".datastore-sync-state.json"
            | ".namespace.json"
    ) || base == ".lock"
        || base.ends_with(".lock")
        || base.starts_with(".datastore-")
        || base.starts_with("_catalog.db")
        || rel == "_index"
        || rel.starts_with("_index/")
        || rel == "_control"
        || rel.starts_with("_control/")
}

/// Content files of lazy hydration: under `data/`, at least 3 segments,
/// basename `raw` (reference c.14).
fn is_content(rel: &str) -> bool {
    rel.starts_with("data/") && rel.split('/').count() >= 3 && rel.ends_with("/raw")
}

type Tree = BTreeMap<String, Vec<u8>>;

fn read_tree(root: &Path) -> Result<Tree, Status> {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let ty = entry.file_type()?;
            if ty.is_dir() {
                walk(root, &path, out)?;
            } else if ty.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .map_err(std::io::Error::other)?
                    .to_string_lossy()
                    .replace('\\', "/");
                if !is_internal(&rel) {
                    out.insert(rel, std::fs::read(&path)?);
                }
            }
        }
        Ok(())
    }
    let mut out = Tree::new();
    walk(root, root, &mut out).or_fail(&format!("reading the tree at {}", root.display()))?;
    Ok(out)
}

/// Describe how two trees differ, or None when they are identical.
fn tree_diff(expected: &Tree, actual: &Tree) -> Option<String> {
    let mut problems = Vec::new();
    for (rel, bytes) in expected {
        match actual.get(rel) {
            None => problems.push(format!("{rel} missing")),
            Some(b) if b != bytes => problems.push(format!(
                "{rel} differs ({} vs {} bytes)",
                b.len(),
                bytes.len()
            )),
            _ => {}
        }
    }
    for rel in actual.keys().filter(|k| !expected.contains_key(*k)) {
        problems.push(format!("{rel} unexpected"));
    }
    if problems.is_empty() {
        None
    } else {
        let n = problems.len();
        problems.truncate(6);
        Some(format!("{n} difference(s): {}", problems.join(", ")))
    }
}

fn same_tree(what: &str, expected: &Tree, actual: &Tree) -> Outcome {
    match tree_diff(expected, actual) {
        None => Ok(()),
        Some(d) => fail!("{what}: {d}"),
    }
}

/// One cache with its sync service.
struct Side {
    svc: SyncService,
    dir: PathBuf,
    name: &'static str,
}

impl Side {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> Outcome {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).or_fail("creating a directory in the cache")?;
        }
        std::fs::write(&p, bytes).or_fail(&format!("writing {rel} in cache {}", self.name))
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(rel)).ok()
    }

    fn remove(&self, rel: &str) -> Outcome {
        let p = self.path(rel);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.or_fail(&format!("removing {rel} in cache {}", self.name))
    }

    fn tree(&self) -> Result<Tree, Status> {
        read_tree(&self.dir)
    }

    async fn mark(&self, rel: &str) -> Outcome {
        self.svc
            .mark_dirty(&SyncOptions::rel_path(rel))
            .await
            .or_fail(&format!("mark-dirty({rel}) on cache {}", self.name))
    }

    async fn mark_bulk(&self) -> Outcome {
        self.svc
            .mark_dirty(&SyncOptions::default())
            .await
            .or_fail(&format!("mark-dirty() on cache {}", self.name))
    }

    async fn push(&self) -> Result<u32, Status> {
        self.push_with(&SyncOptions::default()).await
    }

    async fn push_with(&self, o: &SyncOptions) -> Result<u32, Status> {
        self.svc
            .push_changed(o)
            .await
            .or_fail(&format!("push-changed from cache {}", self.name))
    }

    async fn pull(&self) -> Result<u32, Status> {
        self.pull_with(&SyncOptions::default()).await
    }

    async fn pull_with(&self, o: &SyncOptions) -> Result<u32, Status> {
        self.svc
            .pull_changed(o)
            .await
            .or_fail(&format!("pull-changed into cache {}", self.name))
    }

    /// Write a file after marking it (what swamp core does).
    async fn save(&self, rel: &str, bytes: &[u8]) -> Outcome {
        self.mark(rel).await?;
        self.write(rel, bytes)
    }
}

/// A fixture with one cache (`a`) and a way to open more.
struct Env {
    f: Fixture,
    a: Side,
}

impl Env {
    async fn new(cx: &Ctx) -> Result<Self, Status> {
        let f = cx.fixture().await?;
        let (svc, dir) = f.sync("cache-a").await?;
        Ok(Self {
            f,
            a: Side {
                svc,
                dir,
                name: "A",
            },
        })
    }

    async fn side(&self, name: &'static str) -> Result<Side, Status> {
        let (svc, dir) = self
            .f
            .sync(&format!("cache-{}", name.to_ascii_lowercase()))
            .await?;
        Ok(Side { svc, dir, name })
    }

    async fn caps(&self) -> Result<SyncCapabilities, Status> {
        self.a.svc.capabilities().await.or_fail("capabilities")
    }

    /// Write the base tree into A, push it, pull it into a fresh B.
    async fn seeded(cx: &Ctx) -> Result<(Self, Side), Status> {
        let env = Self::new(cx).await?;
        for (rel, bytes) in base_tree() {
            env.a.write(rel, &bytes)?;
        }
        env.a.mark_bulk().await?;
        env.a.push().await?;
        let b = env.side("B").await?;
        b.pull().await?;
        same_tree(
            "after seeding, cache B differs from cache A",
            &env.a.tree()?,
            &b.tree()?,
        )?;
        Ok((env, b))
    }
}

fn expect_count(what: &str, got: u32, want: u32) -> Outcome {
    ensure!(got == want, "{what} returned {got}, expected {want}");
    Ok(())
}

fn is_kind(e: &HostError, f: fn(&DatastoreError) -> bool) -> bool {
    matches!(e, HostError::Datastore(d) if f(d))
}

// ---------------------------------------------------------------------------
// swamp's kit (f.4).

async fn callable(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    env.a.mark_bulk().await?;
    env.a.pull().await?;
    env.a.push().await?;
    Ok(())
}

async fn capabilities_well_formed(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    let first = env.caps().await?;
    let again = env.caps().await?;
    ensure!(
        first == again,
        "capabilities changed between two calls: {first:?} then {again:?}"
    );
    let other = env.side("B").await?;
    let theirs = other
        .svc
        .capabilities()
        .await
        .or_fail("capabilities on a second instance")?;
    ensure!(
        first == theirs,
        "capabilities differ between instances: {first:?} vs {theirs:?}"
    );
    Ok(())
}

async fn unadvertised_unsupported(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    let caps = env.caps().await?;
    let mut tried = 0;
    let unsupported = |e: &DatastoreError| matches!(e, DatastoreError::Unsupported(_));
    if !caps.lazy_hydration {
        tried += 1;
        match env
            .a
            .svc
            .hydrate_file("data/conformance/m1/out/1/raw", &SyncOptions::default())
            .await
        {
            Err(e) if is_kind(&e, unsupported) => {}
            other => {
                fail!("hydrate-file without lazy-hydration: expected unsupported, got {other:?}")
            }
        }
    }
    if !caps.two_phase_sync {
        tried += 1;
        match env.a.svc.prepare_push(&SyncOptions::default()).await {
            Err(e) if is_kind(&e, unsupported) => {}
            other => {
                fail!("prepare-push without two-phase-sync: expected unsupported, got {other:?}")
            }
        }
    }
    if !caps.preview_push {
        tried += 1;
        match env.a.svc.preview_push(&SyncOptions::default()).await {
            Err(e) if is_kind(&e, unsupported) => {}
            other => {
                fail!("preview-push without preview-push: expected unsupported, got {other:?}")
            }
        }
    }
    if tried == 0 {
        skip!("every optional call is advertised");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Round trips and counts.

async fn round_trip(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    let tree = base_tree();
    for (rel, bytes) in &tree {
        env.a.write(rel, bytes)?;
    }
    env.a.mark_bulk().await?;
    let pushed = env.a.push().await?;
    expect_count("push of the new tree", pushed, tree.len() as u32)?;
    let b = env.side("B").await?;
    let pulled = b.pull().await?;
    let expected: Tree = tree
        .iter()
        .map(|(r, b)| (r.to_string(), b.clone()))
        .collect();
    same_tree("cache A after the push", &expected, &env.a.tree()?)?;
    same_tree("cache B after the pull", &expected, &b.tree()?)?;
    expect_count("pull into a fresh cache", pulled, tree.len() as u32)
}

async fn counts_exact(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    let b = env.side("B").await?;
    for (i, rel) in ["c/one", "c/two", "c/three"].iter().enumerate() {
        env.a.save(rel, format!("file {i}").as_bytes()).await?;
    }
    expect_count("push of 3 new files", env.a.push().await?, 3)?;
    expect_count("pull of 3 new files", b.pull().await?, 3)?;
    env.a.save("c/two", b"file two, now longer").await?;
    expect_count("push of 1 edited file", env.a.push().await?, 1)?;
    expect_count("pull of 1 edited file", b.pull().await?, 1)?;
    env.a.mark("c/three").await?;
    env.a.remove("c/three")?;
    env.a.save("c/four", b"file 4").await?;
    expect_count("push of 1 deletion + 1 new file", env.a.push().await?, 2)?;
    b.pull().await?;
    same_tree("cache B after the last pull", &env.a.tree()?, &b.tree()?)
}

async fn zero_diff_push(cx: Ctx) -> Outcome {
    let (env, _b) = Env::seeded(&cx).await?;
    expect_count("push with nothing changed", env.a.push().await?, 0)?;
    expect_count("second push with nothing changed", env.a.push().await?, 0)?;
    env.a.mark_bulk().await?;
    expect_count(
        "push after a bulk mark-dirty with nothing changed",
        env.a.push().await?,
        0,
    )
}

async fn zero_diff_pull(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    expect_count(
        "second pull into the cache that just pulled",
        b.pull().await?,
        0,
    )?;
    expect_count("pull into the cache that pushed", env.a.pull().await?, 0)?;
    expect_count("another pull into that cache", env.a.pull().await?, 0)
}

async fn same_size_edit(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let rel = "data/conformance/m1/out/1/raw";
    let mut edited = env.a.read(rel).unwrap_or_default();
    edited.reverse();
    env.a.save(rel, &edited).await?;
    expect_count("push of a same-size edit", env.a.push().await?, 1)?;
    expect_count("pull of a same-size edit", b.pull().await?, 1)?;
    ensure!(
        b.read(rel) == Some(edited),
        "cache B still has the old content of {rel} (compared by size?)"
    );
    // And back the other way, with a small text file.
    let rel = "data/conformance/m1/out/latest";
    b.save(rel, b"2").await?;
    expect_count("push of a same-size edit from B", b.push().await?, 1)?;
    expect_count("pull of that edit into A", env.a.pull().await?, 1)?;
    ensure!(
        env.a.read(rel).as_deref() == Some(b"2".as_slice()),
        "cache A did not get B's same-size edit of {rel}"
    );
    same_tree("caches after syncing both ways", &env.a.tree()?, &b.tree()?)
}

async fn deletion_propagates(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let rel = "workflows/w1.yaml";
    env.a.mark(rel).await?;
    env.a.remove(rel)?;
    expect_count("push of one deletion", env.a.push().await?, 1)?;
    b.pull().await?;
    ensure!(
        b.read(rel).is_none(),
        "{rel} deleted in A is still in B after a pull"
    );
    let c = env.side("C").await?;
    c.pull().await?;
    ensure!(
        c.read(rel).is_none(),
        "{rel} deleted in A was pulled into a fresh cache"
    );
    same_tree("cache B after the deletion", &env.a.tree()?, &b.tree()?)
}

async fn pull_keeps_local_edits(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let rel = "workflows/w1.yaml";
    env.a.save(rel, b"steps: [from-a]\n").await?;
    env.a.push().await?;
    b.save(rel, b"steps: [from-b, unpushed]\n").await?;
    match b.svc.pull_changed(&SyncOptions::default()).await {
        Ok(_) => {}
        Err(e) if is_kind(&e, |d| matches!(d, DatastoreError::Conflict(_))) => {}
        Err(e) => fail!("pull with an unpushed local edit: {e}"),
    }
    ensure!(
        b.read(rel).as_deref() == Some(b"steps: [from-b, unpushed]\n".as_slice()),
        "pull overwrote an unpushed local edit of {rel}"
    );
    Ok(())
}

async fn pull_keeps_new_local_files(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    // B creates files the remote has never seen: one announced as swamp
    // does, one written without a mark (a crashed writer's file, a file
    // another tool dropped into the cache).
    let (marked, unmarked) = (
        "models/conformance/m9/definition.yaml",
        "data/conformance/m9/out/1/raw",
    );
    b.save(marked, b"name: m9\n").await?;
    b.write(unmarked, b"written without a mark")?;
    // The remote moves on meanwhile, so the pull has work to do.
    env.a
        .save("workflows/w1.yaml", b"steps: [moved on]\n")
        .await?;
    env.a.push().await?;
    b.pull().await?;
    for (rel, bytes) in [
        (marked, b"name: m9\n".as_slice()),
        (unmarked, b"written without a mark".as_slice()),
    ] {
        ensure!(
            b.read(rel).as_deref() == Some(bytes),
            "a pull deleted (or changed) {rel}, a new local file not pushed yet: data loss"
        );
    }
    ensure!(
        b.read("workflows/w1.yaml").as_deref() == Some(b"steps: [moved on]\n".as_slice()),
        "the pull did not bring A's change"
    );
    // And the marked one reaches A through B's next push.
    b.push().await?;
    env.a.pull().await?;
    ensure!(
        env.a.read(marked).as_deref() == Some(b"name: m9\n".as_slice()),
        "{marked}, marked and written in B, did not reach A after B pushed"
    );
    Ok(())
}

async fn bulk_mark_pushes_deletions(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let gone = "data/conformance/m2/out/1/raw";
    env.a.remove(gone)?;
    env.a.mark_bulk().await?;
    expect_count(
        "push after a bulk mark with one file deleted",
        env.a.push().await?,
        1,
    )?;
    b.pull().await?;
    ensure!(
        b.read(gone).is_none(),
        "{gone}, deleted in A before a bulk mark, is still in B after A pushed and B pulled"
    );
    let c = env.side("C").await?;
    c.pull().await?;
    ensure!(
        c.read(gone).is_none(),
        "{gone}, deleted in A before a bulk mark, reached a fresh cache: it was not deleted remotely"
    );
    same_tree(
        "a fresh cache after the bulk push",
        &env.a.tree()?,
        &c.tree()?,
    )
}

async fn marked_directory_deep(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    // As swamp does for a data item: the directory is announced, then
    // versions are written below it.
    let dir = "data/conformance/m3";
    env.a.mark(dir).await?;
    let files = [
        ("data/conformance/m3/out/latest", b"1".to_vec()),
        ("data/conformance/m3/out/1/raw", b"deep".to_vec()),
        (
            "data/conformance/m3/out/1/metadata.yaml",
            b"version: 1\n".to_vec(),
        ),
    ];
    for (rel, bytes) in &files {
        env.a.write(rel, bytes)?;
    }
    expect_count(
        "push after marking data/conformance/m3 and writing 3 files below it",
        env.a.push().await?,
        3,
    )?;
    b.pull().await?;
    for (rel, bytes) in &files {
        ensure!(
            b.read(rel).as_ref() == Some(bytes),
            "{rel}, below the marked directory {dir}, did not reach B"
        );
    }
    Ok(())
}

async fn generated_tree(cx: Ctx) -> Outcome {
    let seed = cx.subject.seed;
    let replay = |s: Status| match s {
        Status::Fail(m) => Status::Fail(format!(
            "{m} (tree seed {seed}: replay with `check --seed {seed}`)"
        )),
        other => other,
    };
    generated_round_trip(&cx, seed).await.map_err(replay)
}

async fn generated_round_trip(cx: &Ctx, seed: u64) -> Outcome {
    let env = Env::new(cx).await?;
    let root = format!("data/{MODEL_TYPE}/generated");
    let tree = crate::trees::generate(seed, &root, 20);
    for (rel, bytes) in &tree {
        env.a.save(rel, bytes).await?;
    }
    expect_count(
        "push of the generated tree",
        env.a.push().await?,
        tree.len() as u32,
    )?;
    let b = env.side("B").await?;
    expect_count(
        "pull of the generated tree",
        b.pull().await?,
        tree.len() as u32,
    )?;
    same_tree(
        "cache B after pulling the generated tree",
        &env.a.tree()?,
        &b.tree()?,
    )?;

    // Edit a third (some keep their size), resize some, delete some.
    let mut rng = crate::trees::Rng::new(seed.rotate_left(17));
    let mut changed = 0u32;
    for (i, (rel, bytes)) in tree.iter().enumerate() {
        // The first three files get one edit of each kind, so every tree
        // has a same-size edit, a resize and a deletion.
        let kind = if i < 3 { i as u64 } else { rng.below(6) };
        match kind {
            0 if !bytes.is_empty() => {
                let mut same_size = bytes.clone();
                let at = rng.below(bytes.len() as u64) as usize;
                same_size[at] ^= 0x5a;
                env.a.save(rel, &same_size).await?;
            }
            1 => {
                let mut grown = bytes.clone();
                grown.extend(format!("grown {i}").bytes());
                env.a.save(rel, &grown).await?;
            }
            2 => {
                env.a.mark(rel).await?;
                env.a.remove(rel)?;
            }
            _ => continue,
        }
        changed += 1;
    }
    expect_count(
        "push of the edits, resizes and deletions",
        env.a.push().await?,
        changed,
    )?;
    expect_count(
        "pull of the edits, resizes and deletions",
        b.pull().await?,
        {
            // Deletions are not downloads: count what B must fetch.
            let a = env.a.tree()?;
            tree.iter()
                .filter(|(rel, bytes)| a.get(*rel).is_some_and(|now| now != *bytes))
                .count() as u32
        },
    )?;
    same_tree("cache B after the edits", &env.a.tree()?, &b.tree()?)
}

async fn timeout_honoured(cx: Ctx) -> Outcome {
    const FILES: usize = 2_000;
    const TIMEOUT_MS: u64 = 50;
    let env = Env::new(&cx).await?;
    let mut want: Tree = BTreeMap::new();
    for i in 0..FILES {
        let rel = format!("data/{MODEL_TYPE}/many/{}/{i}/raw", i % 40);
        let bytes = format!("file {i}\n").into_bytes();
        env.a.write(&rel, &bytes)?;
        want.insert(rel, bytes);
    }
    env.a.mark_bulk().await?;
    let started = Instant::now();
    let outcome = env
        .a
        .svc
        .push_changed(&SyncOptions {
            timeout_ms: Some(TIMEOUT_MS),
            ..SyncOptions::default()
        })
        .await;
    let took = started.elapsed();
    // Finishing all 2,000 files is only possible within a few hundred ms;
    // a push that finished later, or ran into the host's own deadline,
    // never looked at timeout-ms.
    let allowed = Duration::from_millis((TIMEOUT_MS * 4).max(TIMEOUT_MS + 500));
    match outcome {
        // Stopped by the guest itself (how long that took depends on the
        // machine's load; the host's own deadline would be an error below).
        Err(e) if is_kind(&e, |d| matches!(d, DatastoreError::Aborted(_))) => {}
        Ok(n) => ensure!(
            took <= allowed,
            "the push with timeout-ms {TIMEOUT_MS} ran {} ms and pushed {n} files: it ignored timeout-ms (expected aborted)",
            took.as_millis()
        ),
        Err(e) => fail!(
            "the push with timeout-ms {TIMEOUT_MS}: expected aborted after about {TIMEOUT_MS} ms, got (after {} ms) {e}",
            took.as_millis()
        ),
    }
    // Nothing is lost to the abort: the next push finishes the job.
    env.a.push().await?;
    let b = env.side("B").await?;
    b.pull().await?;
    same_tree(
        "a fresh cache after the aborted push and the one after it",
        &want,
        &b.tree()?,
    )
}

async fn concurrent_writers(cx: Ctx) -> Outcome {
    const WRITERS: usize = 3;
    const FILES: usize = 4;
    let env = Env::new(&cx).await?;
    // An index exists before the race, as in any datastore in use.
    env.a.save("workflows/seed.yaml", b"seed\n").await?;
    env.a.push().await?;
    let mut writers = Vec::new();
    for name in ["W1", "W2", "W3"] {
        let w = env.side(name).await?;
        w.pull().await?;
        writers.push(w);
    }
    let mut want: Tree = env.a.tree()?;
    for round in 0..2 {
        for (i, w) in writers.iter().enumerate() {
            for k in 0..FILES {
                let rel = format!("data/{MODEL_TYPE}/writer-{i}/round-{round}/{k}/raw");
                let bytes = format!("writer {i}, round {round}, file {k}\n").into_bytes();
                w.save(&rel, &bytes).await?;
                want.insert(rel, bytes);
            }
        }
        // All pushes start together; each must land whole.
        let pushes = futures::future::join_all(writers.iter().map(|w| w.push())).await;
        for (i, n) in pushes.into_iter().enumerate() {
            expect_count(
                &format!(
                    "round {round}: writer {i}'s push, racing {} others",
                    WRITERS - 1
                ),
                n?,
                FILES as u32,
            )?;
        }
    }
    let fresh = env.side("F").await?;
    fresh.pull().await?;
    let got = fresh.tree()?;
    let lost: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    ensure!(
        lost.is_empty(),
        "after concurrent pushes a fresh cache lacks {} of {} files (an index update without compare-and-swap loses other writers' entries): {:?}",
        lost.len(),
        want.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
    same_tree("a fresh cache after the concurrent pushes", &want, &got)
}

// ---------------------------------------------------------------------------
// The eight markDirty rules.

async fn rule1(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let new = "models/conformance/m3/definition.yaml";
    let old = "models/conformance/m1/definition.yaml";
    env.a.mark(new).await?;
    env.a.mark(old).await?;
    // The writes happen after the marks, as core does.
    env.a.write(new, b"name: m3\n")?;
    env.a.write(old, b"name: m1\nedited: after the mark\n")?;
    expect_count(
        "push after mark-then-write of 2 files",
        env.a.push().await?,
        2,
    )?;
    b.pull().await?;
    ensure!(
        b.read(new).as_deref() == Some(b"name: m3\n".as_slice()),
        "{new}, written after its mark, did not reach B"
    );
    ensure!(
        b.read(old).as_deref() == Some(b"name: m1\nedited: after the mark\n".as_slice()),
        "B has stale content of {old}: the push did not upload what was written after the mark"
    );
    Ok(())
}

async fn rule2(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let dir = "data/conformance/m2";
    env.a.mark(dir).await?;
    env.a.remove(dir)?;
    expect_count(
        "push after deleting a marked directory of 2 files",
        env.a.push().await?,
        2,
    )?;
    b.pull().await?;
    let left: Vec<String> = b
        .tree()?
        .into_keys()
        .filter(|k| k.starts_with("data/conformance/m2/"))
        .collect();
    ensure!(
        left.is_empty(),
        "files of the deleted directory are still in B after a pull: {left:?}"
    );
    let c = env.side("C").await?;
    c.pull().await?;
    same_tree(
        "a fresh cache after the subtree deletion",
        &env.a.tree()?,
        &c.tree()?,
    )
}

async fn rule3(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    // Written without per-path marks, then one bulk signal.
    env.a.write("workflows/w2.yaml", b"steps: [two]\n")?;
    env.a.write(
        "data/conformance/m1/out/1/metadata.yaml",
        b"version: 1\nbulk: edited\n",
    )?;
    env.a.mark_bulk().await?;
    expect_count(
        "push after a bulk mark-dirty of 2 changes",
        env.a.push().await?,
        2,
    )?;
    expect_count("pull of those 2 changes", b.pull().await?, 2)?;
    same_tree("cache B after the bulk push", &env.a.tree()?, &b.tree()?)
}

async fn rule4(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let rel = "data/conformance/m1/out/latest";
    env.a.save(rel, b"2 (edited before the restart)").await?;
    // The process "restarts": a new instance on the same cache, no push yet.
    let restarted = Side {
        svc: env.f.sync_on(&env.a.dir).await?,
        dir: env.a.dir.clone(),
        name: "A (restarted)",
    };
    drop(env.a);
    expect_count("first push of the new instance", restarted.push().await?, 1)?;
    b.pull().await?;
    ensure!(
        b.read(rel).as_deref() == Some(b"2 (edited before the restart)".as_slice()),
        "an edit marked before the restart never reached the remote"
    );
    Ok(())
}

async fn rule5(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let rel = "data/conformance/m1/out/2/deep/nested/dirs/raw";
    env.a.save(rel, b"deep content").await?;
    expect_count("push of a deeply nested file", env.a.push().await?, 1)?;
    expect_count("pull of it", b.pull().await?, 1)?;
    ensure!(
        b.read(rel).as_deref() == Some(b"deep content".as_slice()),
        "{rel} did not arrive in B"
    );
    Ok(())
}

async fn rule6(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    let rel = "workflows/w1.yaml";
    for _ in 0..5 {
        env.a.mark(rel).await?;
    }
    env.a.write(rel, b"steps: [marked, many, times]\n")?;
    env.a.mark(rel).await?;
    env.a.mark_bulk().await?;
    env.a.mark_bulk().await?;
    expect_count(
        "push after many marks of one changed file",
        env.a.push().await?,
        1,
    )?;
    expect_count("push right after", env.a.push().await?, 0)?;
    expect_count("pull of the one change", b.pull().await?, 1)?;
    Ok(())
}

async fn rule7(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    env.a.save("workflows/w1.yaml", b"steps: [rule7]\n").await?;
    env.a
        .save("workflows/w3.yaml", b"steps: [rule7, new]\n")
        .await?;
    let unrelated = SyncOptions::rel_path("unrelated/path");
    let refused = |e: &HostError| is_kind(e, |d| matches!(d, DatastoreError::InvalidArgument(_)));
    let pushed = match env.a.svc.push_changed(&unrelated).await {
        Ok(n) => n,
        Err(e) if refused(&e) => env.a.push().await?,
        Err(e) => fail!("push with a rel-path: expected it ignored or invalid-argument, got {e}"),
    };
    expect_count("push (rel-path given on push)", pushed, 2)?;
    let pulled = match b.svc.pull_changed(&unrelated).await {
        Ok(n) => n,
        Err(e) if refused(&e) => b.pull().await?,
        Err(e) => fail!("pull with a rel-path: expected it ignored or invalid-argument, got {e}"),
    };
    expect_count("pull (rel-path given on pull)", pulled, 2)?;
    same_tree("cache B", &env.a.tree()?, &b.tree()?)
}

async fn rule8(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    // A rename: bulk first, then a per-path mark from the inner save.
    env.a.mark_bulk().await?;
    env.a.mark("models/conformance/m1/definition.yaml").await?;
    env.a.write(
        "models/conformance/m1/definition.yaml",
        b"name: m1-renamed\n",
    )?;
    env.a.write("workflows/w1.yaml", b"steps: [renamed]\n")?;
    expect_count(
        "push after bulk + per-path marks of 2 changes",
        env.a.push().await?,
        2,
    )?;
    b.pull().await?;
    same_tree("cache B after the push", &env.a.tree()?, &b.tree()?)
}

async fn bad_rel_paths(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    let caps = env.caps().await?;
    let bad = [
        "/etc/passwd",
        "../outside",
        "data/../../outside",
        "a\0b",
        "data\\m1\\raw",
        "..",
    ];
    let refused = |e: &HostError| is_kind(e, |d| matches!(d, DatastoreError::InvalidArgument(_)));
    for rel in bad {
        match env.a.svc.mark_dirty(&SyncOptions::rel_path(rel)).await {
            Err(e) if refused(&e) => {}
            other => fail!("mark-dirty({rel:?}): expected invalid-argument, got {other:?}"),
        }
        if caps.lazy_hydration {
            match env.a.svc.hydrate_file(rel, &SyncOptions::default()).await {
                Err(e) if refused(&e) => {}
                other => fail!("hydrate-file({rel:?}): expected invalid-argument, got {other:?}"),
            }
        }
    }
    // The service still works afterwards.
    env.a.push().await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Capabilities.

async fn lazy(cx: &Ctx) -> Result<(Env, Side), Status> {
    let env = Env::new(cx).await?;
    if !env.caps().await?.lazy_hydration {
        skip!("lazy-hydration is not advertised");
    }
    for (rel, bytes) in base_tree() {
        env.a.write(rel, &bytes)?;
    }
    env.a.mark_bulk().await?;
    env.a.push().await?;
    let b = env.side("B").await?;
    b.pull_with(&SyncOptions::metadata_only()).await?;
    Ok((env, b))
}

async fn metadata_only_pull(cx: Ctx) -> Outcome {
    let (env, b) = lazy(&cx).await?;
    let full = env.a.tree()?;
    let meta: Tree = full
        .iter()
        .filter(|(k, _)| !is_content(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ensure!(meta.len() < full.len(), "the test tree has no content file");
    same_tree("cache B after a metadata-only pull", &meta, &b.tree()?)?;
    b.pull().await?;
    same_tree("cache B after a full pull", &full, &b.tree()?)
}

async fn hydrate_file(cx: Ctx) -> Outcome {
    let (env, b) = lazy(&cx).await?;
    let full = env.a.tree()?;
    for rel in full.keys().filter(|k| is_content(k)) {
        let got = b
            .svc
            .hydrate_file(rel, &SyncOptions::default())
            .await
            .or_fail(&format!("hydrate-file({rel})"))?;
        ensure!(
            got,
            "hydrate-file({rel}) returned false for a file the remote has"
        );
    }
    same_tree(
        "cache B after hydrating every content file",
        &full,
        &b.tree()?,
    )?;
    let missing = "data/conformance/m9/out/1/raw";
    let got = b
        .svc
        .hydrate_file(missing, &SyncOptions::default())
        .await
        .or_fail("hydrate-file of a missing file")?;
    ensure!(
        !got,
        "hydrate-file({missing}) returned true for a file the remote does not have"
    );
    ensure!(
        b.read(missing).is_none(),
        "hydrate-file of a missing file created {missing}"
    );
    Ok(())
}

async fn hydrate_atomic(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    if !env.caps().await?.lazy_hydration {
        skip!("lazy-hydration is not advertised");
    }
    // B holds a clean copy of `rel`; A changes it remotely. B's copy gets a
    // second name outside the cache: replacing the file by renaming a new
    // one over it leaves the second name's content alone, writing in place
    // changes it.
    let rel = "data/conformance/m2/out/1/raw";
    let old = b.read(rel).unwrap_or_default();
    let new: Vec<u8> = old
        .iter()
        .map(|c| c.wrapping_add(1))
        .chain(*b"grown")
        .collect();
    env.a.save(rel, &new).await?;
    expect_count("push of the new content", env.a.push().await?, 1)?;
    let probe = cx.scratch("probe")?.join("hardlink");
    if std::fs::hard_link(b.path(rel), &probe).is_err() {
        skip!(
            "hard links are not available in the scratch directory; atomicity cannot be observed"
        );
    }
    let got = b
        .svc
        .hydrate_file(rel, &SyncOptions::default())
        .await
        .or_fail(&format!("hydrate-file({rel}) over a clean, outdated copy"))?;
    ensure!(
        got,
        "hydrate-file({rel}) returned false for a file the remote has"
    );
    ensure!(
        b.read(rel) == Some(new),
        "after hydrate-file returned true, {rel} does not hold the remote content"
    );
    let linked = std::fs::read(&probe).or_fail("reading the probe link")?;
    ensure!(
        linked == old,
        "hydrate-file wrote into the existing file in place instead of renaming a complete new file over it"
    );
    Ok(())
}

fn model(id: &str) -> ModelRef {
    ModelRef {
        model_type: MODEL_TYPE.into(),
        model_id: id.into(),
    }
}

async fn scoped(cx: &Ctx) -> Result<(Env, Side), Status> {
    let env = Env::new(cx).await?;
    if !env.caps().await?.scoped_sync {
        skip!("scoped-sync is not advertised");
    }
    for (rel, bytes) in base_tree() {
        env.a.write(rel, &bytes)?;
    }
    env.a.mark_bulk().await?;
    env.a.push().await?;
    let b = env.side("B").await?;
    Ok((env, b))
}

async fn scoped_pull(cx: Ctx) -> Outcome {
    let (env, b) = scoped(&cx).await?;
    b.pull_with(&SyncOptions::default().models(vec![model("m1")]))
        .await?;
    let tree = b.tree()?;
    let m2: Vec<&String> = tree
        .keys()
        .filter(|k| k.starts_with("data/conformance/m2/"))
        .collect();
    ensure!(
        m2.is_empty(),
        "a pull scoped to m1 brought m2's files: {m2:?}"
    );
    let full = env.a.tree()?;
    for (rel, bytes) in full
        .iter()
        .filter(|(k, _)| k.starts_with("data/conformance/m1/"))
    {
        ensure!(
            tree.get(rel) == Some(bytes),
            "a pull scoped to m1 did not bring {rel}"
        );
    }
    Ok(())
}

/// The files one `swamp model method run` of model m1 writes, at the
/// places swamp puts them: the model's data, the run's output record (laid
/// out by method name), the evaluated definition (by model name), the
/// workflow run; and an edit of another model made in the same session.
/// Only the first lies under `data/{type}/m1/`.
fn model_run_files(round: u32) -> Vec<(String, Vec<u8>)> {
    [
        format!("data/{MODEL_TYPE}/m1/result/{round}/raw"),
        format!("outputs/{MODEL_TYPE}/execute/m1-2026120{round}T000000Z.yaml"),
        format!("definitions-evaluated/{MODEL_TYPE}/hello.yaml"),
        format!("workflow-runs/wf1/run-{round}.yaml"),
        format!("data/{MODEL_TYPE}/m2/result/{round}/raw"),
    ]
    .into_iter()
    .map(|rel| {
        let body = format!("{rel} (round {round})\n").into_bytes();
        (rel, body)
    })
    .collect()
}

async fn push_ignores_scope(cx: Ctx) -> Outcome {
    let (env, b) = scoped(&cx).await?;
    let caps = env.caps().await?;
    let m1 = SyncOptions::default().models(vec![model("m1")]);
    // Round 1: push-changed with the model run's context, as swamp's CLI
    // pushes after a run.
    let run = model_run_files(1);
    for (rel, bytes) in &run {
        env.a.save(rel, bytes).await?;
    }
    let n = env.a.push_with(&m1).await?;
    expect_count(
        "push-changed with context m1 after a model run marked 5 files",
        n,
        5,
    )?;
    // Round 2: the two-phase push swamp uses when it is advertised.
    // What B must hold: the last content of each file.
    let mut all: BTreeMap<String, Vec<u8>> = run.into_iter().collect();
    if caps.two_phase_sync {
        let run = model_run_files(2);
        for (rel, bytes) in &run {
            env.a.save(rel, bytes).await?;
        }
        let manifest = env
            .a
            .svc
            .prepare_push(&m1)
            .await
            .or_fail("prepare-push with context m1")?;
        expect_count("prepare-push with context m1 (pushed)", manifest.pushed, 5)?;
        env.a
            .svc
            .commit_push(&manifest, &m1)
            .await
            .or_fail("commit-push with context m1")?;
        all.extend(run);
    }
    expect_count(
        "the unscoped push that follows (nothing left dirty)",
        env.a.push().await?,
        0,
    )?;
    b.pull().await?;
    for (rel, bytes) in &all {
        ensure!(
            b.read(rel).as_ref() == Some(bytes),
            "{rel}, marked and pushed with context m1, did not reach a second cache: a push must upload every marked file whatever its context says"
        );
    }
    same_tree(
        "cache B after the scoped pushes",
        &env.a.tree()?,
        &b.tree()?,
    )
}

async fn namespaces_apart(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    if !env.caps().await?.namespaced_sync {
        skip!("namespaced-sync is not advertised");
    }
    // As core does: rel-paths carry the namespace as their first segment and
    // every call names the namespace it works in.
    let ns = |n: &str| SyncOptions::default().namespace(n);
    let mark_in = |n: &str, rel: &str| SyncOptions::rel_path(rel).namespace(n);
    let (ra, rb) = (
        "alpha/data/conformance/m1/out/latest",
        "beta/data/conformance/m1/out/latest",
    );
    env.a
        .svc
        .mark_dirty(&mark_in("alpha", ra))
        .await
        .or_fail("mark-dirty in alpha")?;
    env.a.write(ra, b"alpha")?;
    env.a
        .svc
        .mark_dirty(&mark_in("beta", rb))
        .await
        .or_fail("mark-dirty in beta")?;
    env.a.write(rb, b"beta")?;
    expect_count(
        "push of namespace alpha",
        env.a.push_with(&ns("alpha")).await?,
        1,
    )?;
    let b = env.side("B").await?;
    b.pull_with(&ns("beta")).await?;
    ensure!(
        b.read(rb).is_none(),
        "namespace beta was never pushed but a pull of beta brought {rb}"
    );
    ensure!(
        b.read(ra).is_none(),
        "a pull of namespace beta brought alpha's {ra}"
    );
    b.pull_with(&ns("alpha")).await?;
    ensure!(
        b.read(ra).as_deref() == Some(b"alpha".as_slice()),
        "a pull of namespace alpha did not bring {ra}"
    );
    ensure!(
        b.read(rb).is_none(),
        "a pull of namespace alpha brought beta's {rb}"
    );
    expect_count(
        "push of namespace beta",
        env.a.push_with(&ns("beta")).await?,
        1,
    )?;
    expect_count(
        "push of namespace alpha again",
        env.a.push_with(&ns("alpha")).await?,
        0,
    )?;
    b.pull_with(&ns("beta")).await?;
    ensure!(
        b.read(rb).as_deref() == Some(b"beta".as_slice()),
        "a pull of namespace beta did not bring {rb}"
    );
    ensure!(
        b.read(ra).as_deref() == Some(b"alpha".as_slice()),
        "a pull of namespace beta changed alpha's {ra}"
    );
    Ok(())
}

async fn two_phase(cx: Ctx) -> Outcome {
    // Seeded, so that the remote already has an index: a commit that
    // records nothing must not be rescued by rediscovering the files.
    let (env, b) = Env::seeded(&cx).await?;
    if !env.caps().await?.two_phase_sync {
        skip!("two-phase-sync is not advertised");
    }
    env.a.save("workflows/p1.yaml", b"one").await?;
    env.a.save("workflows/p2.yaml", b"two").await?;
    let manifest = env
        .a
        .svc
        .prepare_push(&SyncOptions::default())
        .await
        .or_fail("prepare-push")?;
    expect_count("prepare-push (pushed)", manifest.pushed, 2)?;
    expect_count("prepare-push (deleted)", manifest.deleted, 0)?;
    env.a
        .svc
        .commit_push(&manifest, &SyncOptions::default())
        .await
        .or_fail("commit-push")?;
    b.pull().await?;
    same_tree("cache B after a two-phase push", &env.a.tree()?, &b.tree()?)?;
    expect_count(
        "push after commit-push (dirty state cleared)",
        env.a.push().await?,
        0,
    )
}

async fn preview_push(cx: Ctx) -> Outcome {
    let (env, _b) = Env::seeded(&cx).await?;
    if !env.caps().await?.preview_push {
        skip!("preview-push is not advertised");
    }
    env.a.save("workflows/new1.yaml", b"new 1").await?;
    env.a.save("workflows/new2.yaml", b"new 2").await?;
    env.a
        .save("workflows/w1.yaml", b"steps: [changed]\n")
        .await?;
    env.a.mark("data/conformance/m1/out/latest").await?;
    env.a.remove("data/conformance/m1/out/latest")?;
    let want = PushPreview {
        total: 4,
        new: 2,
        changed: 1,
        deleted: 1,
    };
    let p = env
        .a
        .svc
        .preview_push(&SyncOptions::default())
        .await
        .or_fail("preview-push")?;
    ensure!(p == want, "preview-push returned {p:?}, expected {want:?}");
    let again = env
        .a
        .svc
        .preview_push(&SyncOptions::default())
        .await
        .or_fail("second preview-push")?;
    ensure!(
        again == want,
        "a second preview-push returned {again:?}: the first one changed something"
    );
    expect_count("the push after the previews", env.a.push().await?, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_files_are_recognised() {
        for f in [
            ".datastore-sync-state.json",
            ".datastore-index.json",
            "data/t/m/.lock",
            "x/y.lock",
            "_index/a",
            "ns/.namespace.json",
            "_catalog.db-wal",
        ] {
            assert!(is_internal(f), "{f}");
        }
        for f in [
            "data/t/m/out/1/raw",
            "workflows/w.yaml",
            "locks.yaml",
            "index/x",
        ] {
            assert!(!is_internal(f), "{f}");
        }
    }

    #[test]
    fn content_files_follow_the_reference_split() {
        assert!(is_content("data/t/m/out/1/raw"));
        assert!(!is_content("data/t/m/out/1/metadata.yaml"));
        assert!(!is_content("models/t/m/raw"));
        assert!(!is_content("data/raw"));
    }

    #[test]
    fn trees_are_compared_byte_for_byte() {
        let a: Tree = [("x".to_string(), vec![1, 2]), ("y".to_string(), vec![])].into();
        let mut b = a.clone();
        assert!(tree_diff(&a, &b).is_none());
        b.insert("x".into(), vec![2, 1]);
        assert!(tree_diff(&a, &b).unwrap().contains("x differs"));
        b.remove("y");
        assert!(tree_diff(&a, &b).unwrap().contains("y missing"));
    }

    #[test]
    fn the_base_tree_is_unique_and_has_binary_and_content() {
        let t = base_tree();
        let names: std::collections::HashSet<_> = t.iter().map(|(r, _)| *r).collect();
        assert_eq!(names.len(), t.len());
        assert!(t.iter().any(|(r, _)| is_content(r)));
        assert!(t.iter().any(|(_, b)| b.iter().any(|c| *c > 127)));
    }
}
