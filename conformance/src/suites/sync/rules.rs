//! The eight markDirty rules, one check each, and the rel-paths every
//! call must refuse.

use super::support::{Env, Side, expect_count, is_kind, same_tree};
use crate::framework::{Ctx, Outcome, ensure, fail};
use swamp_host::{DatastoreError, HostError, SyncOptions};

// ---------------------------------------------------------------------------
// The eight markDirty rules.

pub(super) async fn rule1(cx: Ctx) -> Outcome {
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

pub(super) async fn rule2(cx: Ctx) -> Outcome {
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

pub(super) async fn rule3(cx: Ctx) -> Outcome {
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

pub(super) async fn rule4(cx: Ctx) -> Outcome {
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

pub(super) async fn rule5(cx: Ctx) -> Outcome {
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

pub(super) async fn rule6(cx: Ctx) -> Outcome {
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

pub(super) async fn rule7(cx: Ctx) -> Outcome {
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

pub(super) async fn rule8(cx: Ctx) -> Outcome {
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

pub(super) async fn bad_rel_paths(cx: Ctx) -> Outcome {
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
