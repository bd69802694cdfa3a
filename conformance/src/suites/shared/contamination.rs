//! The contamination-repair check: a namespace holding another registered
//! namespace's objects, counted by a dry run, deleted by a repair, with
//! fresh pulls of both namespaces showing what is left.

use super::{service, snapshot};
use crate::framework::{Ctx, OrFail, Outcome, Status, ensure};
use swamp_host::{ContaminationSummary, ForeignNamespace, SyncOptions};

pub(super) async fn contamination_repair(cx: Ctx) -> Outcome {
    let (f, a, cache_a) = service(&cx, |x| x.contamination_repair, "contamination-repair").await?;
    let features = f.provider.features().await.or_fail("provider features")?;
    if !features.namespaces
        || !a
            .capabilities()
            .await
            .or_fail("capabilities")?
            .namespaced_sync
    {
        return Err(Status::Skipped(
            "contamination needs registered namespaces and namespaced sync, and one of them is not advertised".into(),
        ));
    }
    let (home, other) = ("cr-home", "cr-other");
    for ns in [home, other] {
        f.provider
            .register_namespace(&f.datastore_path, ns, &format!("repo-{ns}"))
            .await
            .or_fail(&format!("register-namespace {ns}"))?;
    }
    let own = ["workflows/home.yaml", "data/conformance/m1/out/1/raw"];
    let foreign = [
        "cr-other/workflows/leaked.yaml",
        "cr-other/data/conformance/m2/out/1/raw",
        "cr-other/deep/a/b/c.txt",
    ];
    let put = |ns: &'static str, rel: &'static str| {
        let a = &a;
        let cache_a = &cache_a;
        async move {
            let full = format!("{ns}/{rel}");
            a.mark_dirty(&SyncOptions::rel_path(full.clone()).namespace(ns))
                .await
                .or_fail("mark-dirty")?;
            let path = cache_a.join(&full);
            std::fs::create_dir_all(path.parent().unwrap_or(cache_a))
                .or_fail("creating a directory")?;
            std::fs::write(&path, full.as_bytes()).or_fail("writing a file in cache A")
        }
    };
    put(other, "workflows/other.yaml").await?;
    a.push_changed(&SyncOptions::default().namespace(other))
        .await
        .or_fail("push of cr-other")?;
    for rel in own.iter().chain(&foreign) {
        put(home, rel).await?;
    }
    a.push_changed(&SyncOptions::default().namespace(home))
        .await
        .or_fail("push of cr-home with cr-other's files inside it")?;

    let want = |deleted| ContaminationSummary {
        foreign_namespaces: vec![ForeignNamespace {
            namespace: other.into(),
            object_count: foreign.len() as u32,
        }],
        total_foreign_objects: foreign.len() as u32,
        deleted,
    };
    let dry = a
        .repair_namespace_contamination(Some(home), true)
        .await
        .or_fail("repair-namespace-contamination (dry run)")?;
    ensure!(
        dry == want(0),
        "the dry run returned {dry:?}, expected {:?}",
        want(0)
    );
    let pulled = |name: &'static str, ns: &'static str| {
        let f = &f;
        async move {
            let (svc, cache) = f.sync(name).await?;
            svc.pull_changed(&SyncOptions::default().namespace(ns))
                .await
                .or_fail(&format!("pull of {ns} into a fresh cache"))?;
            let mut rels: Vec<String> = snapshot(&cache.join(ns))?
                .keys()
                .filter_map(|p| p.strip_prefix(cache.join(ns)).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .filter(|r| !crate::suites::sync::is_internal(r))
                .collect();
            rels.sort();
            Ok::<_, Status>(rels)
        }
    };
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    let everything: Vec<&str> = own.iter().chain(&foreign).copied().collect();
    let after_dry = pulled("after-dry-run", home).await?;
    ensure!(
        after_dry == sorted(&everything),
        "after a dry run a fresh pull of {home} has {after_dry:?}, expected every file still: {:?}",
        sorted(&everything)
    );
    let done = a
        .repair_namespace_contamination(Some(home), false)
        .await
        .or_fail("repair-namespace-contamination")?;
    let want_done = want(foreign.len() as u32);
    ensure!(
        done == want_done,
        "the repair returned {done:?}, expected {want_done:?}"
    );
    let after = pulled("after-repair", home).await?;
    ensure!(
        after == sorted(&own),
        "after the repair a fresh pull of {home} has {after:?}, expected only its own {:?}",
        sorted(&own)
    );
    let theirs = pulled("foreign-side", other).await?;
    ensure!(
        theirs == ["workflows/other.yaml"],
        "after the repair a fresh pull of {other} has {theirs:?}, expected its own workflows/other.yaml"
    );
    let again = a
        .repair_namespace_contamination(Some(home), true)
        .await
        .or_fail("a dry run after the repair")?;
    ensure!(
        again == ContaminationSummary::default(),
        "a dry run after the repair still finds {again:?}"
    );
    let solo = a
        .repair_namespace_contamination(None, true)
        .await
        .or_fail("repair-namespace-contamination without a namespace")?;
    ensure!(
        solo == ContaminationSummary::default(),
        "without a namespace there is nothing to check, but the repair returned {solo:?}"
    );
    Ok(())
}
