//! The calls and capabilities every provider has (callable, the same
//! capabilities on every call, unadvertised calls refused), then each
//! optional capability exercised: lazy hydration, scoped sync, namespaced
//! sync, two-phase sync and preview-push.

use super::support::{
    Env, MODEL_TYPE, Side, Tree, base_tree, expect_count, is_content, is_kind, same_tree,
};
use crate::framework::{Ctx, OrFail, Outcome, Status, ensure, fail, skip};
use std::collections::BTreeMap;
use swamp_host::{DatastoreError, ModelRef, PushPreview, SyncOptions};

// ---------------------------------------------------------------------------
// swamp's kit (docs/contract.md §9.4).

pub(super) async fn callable(cx: Ctx) -> Outcome {
    let env = Env::new(&cx).await?;
    env.a.mark_bulk().await?;
    env.a.pull().await?;
    env.a.push().await?;
    Ok(())
}

pub(super) async fn capabilities_well_formed(cx: Ctx) -> Outcome {
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

pub(super) async fn unadvertised_unsupported(cx: Ctx) -> Outcome {
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

pub(super) async fn metadata_only_pull(cx: Ctx) -> Outcome {
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

pub(super) async fn hydrate_file(cx: Ctx) -> Outcome {
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

pub(super) async fn hydrate_atomic(cx: Ctx) -> Outcome {
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

pub(super) async fn scoped_pull(cx: Ctx) -> Outcome {
    let (env, b) = scoped(&cx).await?;
    b.pull_with(&SyncOptions::default().with_models(vec![model("m1")]))
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

pub(super) async fn push_ignores_scope(cx: Ctx) -> Outcome {
    let (env, b) = scoped(&cx).await?;
    let caps = env.caps().await?;
    let m1 = SyncOptions::default().with_models(vec![model("m1")]);
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

pub(super) async fn namespaces_apart(cx: Ctx) -> Outcome {
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

pub(super) async fn two_phase(cx: Ctx) -> Outcome {
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

pub(super) async fn preview_push(cx: Ctx) -> Outcome {
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
