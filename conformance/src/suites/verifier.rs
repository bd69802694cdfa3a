//! Health checks (docs/contract.md §9.3 and §3): well-formed results,
//! healthy on a good datastore, unhealthy with a reason on a missing or
//! unwritable one.

use crate::framework::{
    Check, Ctx, OrFail, Outcome, Status, Suite, check, ensure, skip, skip_for_input,
};
use swamp_host::HealthResult;

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "verifier.result-well-formed",
            Suite::Verifier,
            "verify returns a message, a finite latency >= 0 and the component's own datastore-type",
            well_formed
        ),
        check!(
            "verifier.healthy",
            Suite::Verifier,
            "verify reports a good datastore healthy, with a message",
            healthy
        ),
        check!(
            "verifier.unhealthy",
            Suite::Verifier,
            "verify reports each missing or unwritable datastore unhealthy with a reason (not an error)",
            unhealthy
        ),
        check!(
            "verifier.missing-directory",
            Suite::Verifier,
            "verify reports a datastore whose directory does not exist unhealthy with a reason",
            missing_directory
        ),
        check!(
            "verifier.latency-non-negative",
            Suite::Verifier,
            "latency-ms is finite and never negative, healthy or not",
            latency
        ),
        check!(
            "verifier.no-leftovers",
            Suite::Verifier,
            "verify leaves no probe file behind in the datastore",
            no_leftovers
        ),
        check!(
            "verifier.read-only-datastore",
            Suite::Verifier,
            "a datastore the verifier can read but not write (mounted read-only) is unhealthy: a stat is not a health check",
            read_only_datastore
        ),
    ]
}

fn latency_ok(r: &HealthResult) -> bool {
    r.latency_ms.is_finite() && r.latency_ms >= 0.0
}

async fn verify_main(cx: &Ctx) -> Result<(HealthResult, serde_json::Value), Status> {
    let f = cx.fixture().await?;
    let v = f
        .provider
        .create_verifier()
        .await
        .or_fail("create-verifier")?;
    let r = v.verify().await.or_fail("verify")?;
    Ok((r, f.config))
}

async fn well_formed(cx: Ctx) -> Outcome {
    let (r, _) = verify_main(&cx).await?;
    ensure!(latency_ok(&r), "latency-ms is {}", r.latency_ms);
    ensure!(
        r.datastore_type == cx.datastore_type(),
        "datastore-type is {:?}, the component's type is {:?}",
        r.datastore_type,
        cx.datastore_type()
    );
    ensure!(!r.message.trim().is_empty(), "message is empty");
    Ok(())
}

async fn healthy(cx: Ctx) -> Outcome {
    let (r, _) = verify_main(&cx).await?;
    ensure!(
        r.healthy,
        "a good datastore was reported unhealthy: {}",
        r.message
    );
    ensure!(!r.message.trim().is_empty(), "message is empty");
    Ok(())
}

async fn verify_unhealthy(cx: &Ctx) -> Result<Vec<(String, HealthResult)>, Status> {
    if cx.subject.unhealthy_configs.is_empty() {
        skip_for_input!(
            "no unhealthy configs given: pass a missing or unwritable datastore to probe with `check --unhealthy-config JSON`"
        );
    }
    let mut out = Vec::new();
    for (label, config) in &cx.subject.unhealthy_configs {
        let provider = cx
            .plugin()
            .open(config.clone(), cx.open_options()?)
            .await
            .or_fail(&format!(
                "create-provider for {label} (must not touch the datastore)"
            ))?;
        let v = provider
            .create_verifier()
            .await
            .or_fail(&format!("create-verifier for {label}"))?;
        let r = v.verify().await.or_fail(&format!(
            "verify on {label} (must be a result, not an error)"
        ))?;
        out.push((label.clone(), r));
    }
    Ok(out)
}

async fn unhealthy(cx: Ctx) -> Outcome {
    for (label, r) in verify_unhealthy(&cx).await? {
        ensure!(!r.healthy, "{label}: reported healthy ({})", r.message);
        ensure!(
            !r.message.trim().is_empty(),
            "{label}: unhealthy without a message"
        );
        ensure!(
            r.datastore_type == cx.datastore_type(),
            "{label}: datastore-type is {:?}",
            r.datastore_type
        );
    }
    Ok(())
}

async fn latency(cx: Ctx) -> Outcome {
    let (r, _) = verify_main(&cx).await?;
    ensure!(
        latency_ok(&r),
        "healthy datastore: latency-ms is {}",
        r.latency_ms
    );
    if !cx.subject.unhealthy_configs.is_empty() {
        for (label, r) in verify_unhealthy(&cx).await? {
            ensure!(latency_ok(&r), "{label}: latency-ms is {}", r.latency_ms);
        }
    }
    Ok(())
}

async fn no_leftovers(cx: Ctx) -> Outcome {
    let (r, config) = verify_main(&cx).await?;
    let Some(dir) = cx.isolated_dir(&config) else {
        return Err(cx.skip_not_a_local_dir("inspect"));
    };
    if !r.healthy {
        skip!(
            "the datastore was reported unhealthy (see verifier.healthy): {}",
            r.message
        );
    }
    let left: Vec<String> = std::fs::read_dir(&dir)
        .or_fail("reading the datastore directory")?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ensure!(
        left.is_empty(),
        "verify left files in an empty datastore: {left:?}"
    );
    Ok(())
}

async fn missing_directory(cx: Ctx) -> Outcome {
    let config = cx.isolated_config()?;
    let Some(dir) = cx.isolated_dir(&config) else {
        return Err(cx.skip_not_a_local_dir("remove"));
    };
    std::fs::remove_dir_all(&dir).or_fail("removing the check's datastore directory")?;
    let provider = cx
        .plugin()
        .open(config, cx.open_options()?)
        .await
        .or_fail("create-provider on a missing directory (must not touch the datastore)")?;
    let v = provider
        .create_verifier()
        .await
        .or_fail("create-verifier")?;
    let r = v
        .verify()
        .await
        .or_fail("verify on a missing directory (must be a result, not an error)")?;
    ensure!(
        !r.healthy,
        "a missing datastore directory was reported healthy ({})",
        r.message
    );
    ensure!(!r.message.trim().is_empty(), "unhealthy without a message");
    ensure!(latency_ok(&r), "latency-ms is {}", r.latency_ms);
    Ok(())
}

async fn read_only_datastore(cx: Ctx) -> Outcome {
    let config = cx.isolated_config()?;
    if cx.isolated_dir(&config).is_none() {
        return Err(cx.skip_not_a_local_dir("mount read-only"));
    }
    let mut options = cx.open_options()?;
    options.limits = Some(swamp_host::Limits {
        read_only_mounts: true,
        ..swamp_host::Limits::default()
    });
    let provider = cx
        .plugin()
        .open(config, options)
        .await
        .or_fail("create-provider on the read-only datastore")?;
    let v = provider
        .create_verifier()
        .await
        .or_fail("create-verifier")?;
    let r = v
        .verify()
        .await
        .or_fail("verify on a read-only datastore (must be a result, not an error)")?;
    ensure!(
        !r.healthy,
        "the verifier called a datastore it cannot write healthy ({}): it must try a write, as swamp's own verifiers do",
        r.message
    );
    Ok(())
}
