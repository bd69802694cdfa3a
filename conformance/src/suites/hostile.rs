//! The hostile remote-index corpus (`hostile/index`, documented in
//! hostile/README.md) against the component under check: every case is a
//! remote index file a crashed writer, a confused client or an attacker
//! could leave. Each is planted in a datastore of its own beside one good
//! file, and a pull into a fresh cache must give the outcome the corpus
//! documents: a refusal of the named kind that names the file, or the safe
//! count (zombie entries scrubbed, the good file still synced). The good
//! file must never change and the component must still answer.
//!
//! Files are planted beneath the component: in the datastore's directory,
//! or through the raw store the suite was given (a bucket); without either
//! the checks skip.

use crate::framework::{Check, Ctx, OrFail, Outcome, Status, Suite, check, fail};
use crate::raw_store::Raw;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use swamp_host::{HostError, SyncOptions};

mod corpus {
    include!(concat!(env!("OUT_DIR"), "/hostile_index.rs"));
}

#[allow(dead_code)] // symlink and directory recipes are for other folders
mod recipe {
    use serde_json::Value;
    include!("../../hostile/recipe.rs");
}

/// The good remote file every case sits beside.
const GOOD_REL: &str = "data/good/m/1/raw";
const GOOD: &[u8] = b"good\n";

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "sync.hostile-index",
            Suite::Sync,
            "each hostile remote index of hostile/index (truncated, wrong types, keys that climb out or hold NUL, a recursion bomb, a 50 MiB index, broken shards and metas), planted beside a good file: a pull into a fresh cache gives the documented refusal naming the file or the documented count, the good file is unchanged, and the component still answers",
            hostile_index
        ),
        check!(
            "sync.download-verified",
            Suite::Sync,
            "a remote file whose bytes no longer match the sha256 its index lists (same size, other content) is refused with corrupt-data naming it, and the bad bytes never reach the cache",
            download_verified
        ),
    ]
}

/// The error kind of a host error, in the WIT's spelling.
fn kind(e: &HostError) -> String {
    match e {
        HostError::Datastore(d) => d.kind().to_string(),
        _ => "host".to_string(),
    }
}

/// How `got` differs from the corpus's expectation `want`, if it does.
fn judge(want: &Value, got: &Result<u32, HostError>) -> Option<String> {
    if let Some(kind_wanted) = want.get("error").and_then(Value::as_str) {
        return match got {
            Ok(n) => Some(format!(
                "pulled {n} file(s), expected a {kind_wanted} refusal"
            )),
            Err(e) if kind(e) != kind_wanted => Some(format!(
                "failed with {} ({e}), expected {kind_wanted}",
                kind(e)
            )),
            Err(e) => {
                let text = e.to_string();
                want.get("mentions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .find(|m| !text.contains(m))
                    .map(|m| format!("the {kind_wanted} error does not mention {m:?}: {text}"))
            }
        };
    }
    match (want.get("ok"), got) {
        (Some(Value::Number(n)), Ok(c)) if n.as_u64() != Some(u64::from(*c)) => {
            Some(format!("pulled {c} file(s), expected {n}"))
        }
        (Some(_), Ok(_)) => None,
        (_, Err(e)) => Some(format!(
            "failed with {} ({e}); the documented outcome is {want}",
            kind(e)
        )),
        (None, Ok(_)) => Some(format!("the corpus gives no pull outcome: {want}")),
    }
}

fn place(path: &Path, bytes: &[u8]) -> Outcome {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).or_fail("creating a directory in the cache")?;
    }
    std::fs::write(path, bytes).or_fail(&format!("writing {}", path.display()))
}

fn plant(raw: &Raw, key: &str, bytes: &[u8]) -> Outcome {
    raw.put(key, bytes)
        .map_err(|e| Status::Fail(format!("planting {}: {e}", raw.describe(key))))
}

fn skip_without_raw(cx: &Ctx) -> Status {
    match cx.skip_not_a_local_dir("plant files in") {
        Status::Skipped(m) => Status::Skipped(format!(
            "{m} (or run the suite with a raw store of the datastore)"
        )),
        other => other,
    }
}

async fn hostile_index(cx: Ctx) -> Outcome {
    let probe = cx.fixture().await?;
    if cx.raw(&probe.config).is_none() {
        return Err(skip_without_raw(&cx));
    }
    drop(probe);
    let manifest: BTreeMap<String, Value> =
        serde_json::from_str(corpus::EXPECT).or_fail("the corpus's expect.json")?;
    let mut problems = Vec::new();
    for (i, (name, case_bytes)) in corpus::CASES.iter().enumerate() {
        let Some(expect) = manifest.get(*name) else {
            fail!("hostile/index/{name} has no expectation in expect.json");
        };
        let bytes = match name.ends_with(".recipe.json") {
            true => match recipe::expand(case_bytes, name) {
                recipe::Content::Bytes(b) => b,
                other => fail!("hostile/index/{name}: a recipe of {other:?} cannot be an index"),
            },
            false => case_bytes.to_vec(),
        };
        let f = cx.fixture_named(&format!("case-{i}")).await?;
        let Some(raw) = cx.raw(&f.config) else {
            fail!("no raw access to the datastore of case {name}");
        };
        plant(&raw, GOOD_REL, GOOD)?;
        let at = expect
            .get("at")
            .and_then(Value::as_str)
            .unwrap_or(".datastore-index.json");
        plant(&raw, at, &bytes)?;
        for (rel, text) in expect
            .get("also")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            plant(&raw, rel, text.as_str().unwrap_or_default().as_bytes())?;
        }
        let (svc, cache) = f.sync(&format!("cache-{i}")).await?;
        let got = svc.pull_changed(&SyncOptions::default()).await;
        if let Some(want) = expect.get("pull")
            && let Some(why) = judge(want, &got)
        {
            problems.push(format!(
                "{name} ({}): {why}",
                expect.get("why").and_then(Value::as_str).unwrap_or("")
            ));
        }
        if matches!(got, Ok(n) if n > 0)
            && std::fs::read(cache.join(GOOD_REL)).ok().as_deref() != Some(GOOD)
        {
            problems.push(format!(
                "{name}: the pull reported files but {GOOD_REL} did not arrive intact"
            ));
        }
        if raw.get(GOOD_REL).ok().flatten().as_deref() != Some(GOOD) {
            problems.push(format!("{name}: the stored {GOOD_REL} changed or vanished"));
        }
        if let Err(e) = svc.mark_dirty(&SyncOptions::default()).await {
            problems.push(format!("{name}: the sync service no longer answers: {e}"));
        }
        // Keep the slot small: the large cases are tens of MiB.
        if let Some(dir) = cx.isolated_dir(&f.config) {
            let _ = std::fs::remove_dir_all(&dir);
        }
        let _ = std::fs::remove_dir_all(&cache);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Status::Fail(format!(
            "{} of {} hostile index cases went wrong: {}",
            problems.len(),
            corpus::CASES.len(),
            problems.join("; ")
        )))
    }
}

async fn download_verified(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let Some(raw) = cx.raw(&f.config) else {
        return Err(skip_without_raw(&cx));
    };
    let (a, cache_a) = f.sync("cache-a").await?;
    let rel = "data/conformance/m1/out/1/raw";
    let good = b"the bytes that were pushed".to_vec();
    a.mark_dirty(&SyncOptions::rel_path(rel))
        .await
        .or_fail("mark-dirty")?;
    place(&cache_a.join(rel), &good)?;
    a.push_changed(&SyncOptions::default())
        .await
        .or_fail("push")?;
    if raw.get(rel).ok().flatten().as_deref() != Some(good.as_slice()) {
        return Err(Status::Skipped(format!(
            "the datastore does not keep {rel} at {} (swamp's layout), so the check cannot alter it",
            raw.describe(rel)
        )));
    }
    // Bit rot, a partial overwrite, another client's bug: same size,
    // other bytes, index untouched.
    let mut bad = good.clone();
    bad[0] ^= 0x20;
    plant(&raw, rel, &bad)?;
    let (b, cache_b) = f.sync("cache-b").await?;
    let got = b.pull_changed(&SyncOptions::default()).await;
    let landed = std::fs::read(cache_b.join(rel)).ok();
    if landed.as_deref() == Some(bad.as_slice()) {
        fail!(
            "the altered bytes of {rel} were written into the cache (pull returned {got:?}): downloads must be checked against the index's sha256"
        );
    }
    match got {
        Err(HostError::Datastore(d))
            if d.kind() == "corrupt-data" && d.to_string().contains(rel) =>
        {
            Ok(())
        }
        Err(e) => fail!(
            "the pull failed with {} ({e}), expected corrupt-data naming {rel}",
            kind(&e)
        ),
        Ok(n) => fail!(
            "the pull returned {n} without reporting that {rel} does not match its sha256 (corrupt-data expected)"
        ),
    }
}
