//! Round trips between caches and exact counts: what a push and a pull
//! move, edits that keep the size, deletions, local work a pull must
//! keep, a generated tree, timeout-ms, and concurrent writers.

use super::support::{Env, MODEL_TYPE, Tree, base_tree, expect_count, is_kind, same_tree};
use crate::framework::{Ctx, Outcome, Status, ensure, fail};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use swamp_host::{DatastoreError, SyncOptions};

// ---------------------------------------------------------------------------
// Round trips and counts.

pub(super) async fn round_trip(cx: Ctx) -> Outcome {
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

pub(super) async fn counts_exact(cx: Ctx) -> Outcome {
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

pub(super) async fn zero_diff_push(cx: Ctx) -> Outcome {
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

pub(super) async fn zero_diff_pull(cx: Ctx) -> Outcome {
    let (env, b) = Env::seeded(&cx).await?;
    expect_count(
        "second pull into the cache that just pulled",
        b.pull().await?,
        0,
    )?;
    expect_count("pull into the cache that pushed", env.a.pull().await?, 0)?;
    expect_count("another pull into that cache", env.a.pull().await?, 0)
}

pub(super) async fn same_size_edit(cx: Ctx) -> Outcome {
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

pub(super) async fn deletion_propagates(cx: Ctx) -> Outcome {
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

pub(super) async fn pull_keeps_local_edits(cx: Ctx) -> Outcome {
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

pub(super) async fn pull_keeps_new_local_files(cx: Ctx) -> Outcome {
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

pub(super) async fn bulk_mark_pushes_deletions(cx: Ctx) -> Outcome {
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

pub(super) async fn marked_directory_deep(cx: Ctx) -> Outcome {
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

pub(super) async fn generated_tree(cx: Ctx) -> Outcome {
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

pub(super) async fn timeout_honoured(cx: Ctx) -> Outcome {
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

pub(super) async fn concurrent_writers(cx: Ctx) -> Outcome {
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
