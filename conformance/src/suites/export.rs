//! The export: identity, schema and the provider factory (swamp's kit,
//! docs/contract.md §9.1, plus what the WIT contract adds).

use crate::framework::{Check, Ctx, OrFail, Outcome, Suite, check, ensure, fail, skip};
use swamp_host::{DatastoreError, HostError, LockOptions};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "export.type-format",
            Suite::Export,
            "type matches ^@?[a-z][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$",
            type_format
        ),
        check!(
            "export.type-not-reserved",
            Suite::Export,
            "type is not in the reserved collectives swamp or si",
            type_not_reserved
        ),
        check!("export.name", Suite::Export, "name is non-empty", name),
        check!(
            "export.description",
            Suite::Export,
            "description is non-empty",
            description
        ),
        check!(
            "export.config-schema",
            Suite::Export,
            "config schema is present and a JSON Schema object",
            config_schema
        ),
        check!(
            "export.create-provider",
            Suite::Export,
            "create-provider accepts the main config",
            create_provider
        ),
        check!(
            "export.resolve-datastore-path",
            Suite::Export,
            "resolve-datastore-path returns a non-empty absolute path",
            resolve_datastore_path
        ),
        check!(
            "export.create-lock",
            Suite::Export,
            "create-lock returns a lock handle with a key and swamp's default TTL (30000 ms)",
            create_lock
        ),
        check!(
            "export.create-verifier",
            Suite::Export,
            "create-verifier returns a verifier",
            create_verifier
        ),
        check!(
            "export.features-consistent",
            Suite::Export,
            "provider features match what the optional calls do",
            features_consistent
        ),
        check!(
            "export.construction-side-effect-free",
            Suite::Export,
            "create-provider, create-lock and create-verifier write nothing to the datastore",
            side_effect_free
        ),
        check!(
            "export.namespace-claims",
            Suite::Export,
            "namespaces: register-namespace claims a namespace for one repo (again for the same repo is fine), refuses another repo's claim with conflict, refuses a bad slug, and list-namespaces shows it",
            namespace_claims
        ),
    ]
}

/// `^@?[a-z][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$`, without a regex engine.
pub(crate) fn type_matches(t: &str) -> bool {
    let t = t.strip_prefix('@').unwrap_or(t);
    let Some((collective, name)) = t.split_once('/') else {
        return false;
    };
    let tail_ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    let mut c = collective.chars();
    let mut n = name.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_lowercase())
        && tail_ok(c.as_str())
        && matches!(n.next(), Some(ch) if ch.is_ascii_lowercase() || ch.is_ascii_digit())
        && tail_ok(n.as_str())
}

/// The collective of a type (`@swamp/x` and `swamp/x` both give `swamp`).
pub(crate) fn collective(t: &str) -> &str {
    let t = t.strip_prefix('@').unwrap_or(t);
    t.split_once('/').map_or(t, |(c, _)| c)
}

async fn type_format(cx: Ctx) -> Outcome {
    let t = cx.datastore_type();
    ensure!(
        type_matches(t),
        "type {t:?} does not match ^@?[a-z][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$"
    );
    Ok(())
}

async fn type_not_reserved(cx: Ctx) -> Outcome {
    let t = cx.datastore_type();
    let c = collective(t).to_ascii_lowercase();
    ensure!(
        c != "swamp" && c != "si",
        "type {t:?} uses the reserved collective {c:?} (swamp and si are for first-party types)"
    );
    Ok(())
}

async fn name(cx: Ctx) -> Outcome {
    ensure!(!cx.plugin().info().name.trim().is_empty(), "name is empty");
    Ok(())
}

async fn description(cx: Ctx) -> Outcome {
    ensure!(
        !cx.plugin().info().description.trim().is_empty(),
        "description is empty"
    );
    Ok(())
}

async fn config_schema(cx: Ctx) -> Outcome {
    let text = &cx.plugin().info().config_schema;
    ensure!(!text.trim().is_empty(), "config-schema is empty");
    let v: serde_json::Value = serde_json::from_str(text).or_fail("config-schema is not JSON")?;
    ensure!(v.is_object(), "config-schema is not a JSON object: {v}");
    if let Some(t) = v.get("type") {
        ensure!(t == "object", "config-schema describes {t}, not an object");
    }
    Ok(())
}

async fn create_provider(cx: Ctx) -> Outcome {
    cx.plugin()
        .open(cx.subject.config.clone(), cx.open_options()?)
        .await
        .or_fail("create-provider with the main config")?;
    Ok(())
}

async fn resolve_datastore_path(cx: Ctx) -> Outcome {
    let provider = cx
        .plugin()
        .open(cx.subject.config.clone(), cx.open_options()?)
        .await
        .or_fail("create-provider")?;
    for repo in [
        "/tmp/test-repo".to_string(),
        cx.repo_dir()?.display().to_string(),
    ] {
        let p = provider
            .resolve_datastore_path(&repo)
            .await
            .or_fail("resolve-datastore-path")?;
        ensure!(
            !p.is_empty(),
            "resolve-datastore-path({repo:?}) returned an empty string"
        );
        ensure!(
            p.starts_with('/'),
            "resolve-datastore-path({repo:?}) returned {p:?}, not an absolute path"
        );
    }
    Ok(())
}

async fn create_lock(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let lock = f
        .provider
        .create_lock("/tmp/test-ds", LockOptions::default())
        .await
        .or_fail("create-lock(\"/tmp/test-ds\") with default options")?;
    ensure!(!lock.key().is_empty(), "lock-key is empty");
    ensure!(
        lock.ttl().as_millis() == LockOptions::DEFAULT_TTL_MS as u128,
        "ttl-ms is {} with default options, expected swamp's default {}",
        lock.ttl().as_millis(),
        LockOptions::DEFAULT_TTL_MS
    );
    let lock = f.lock(LockOptions::default().ttl_ms(1234)).await?;
    ensure!(
        lock.ttl().as_millis() == 1234,
        "ttl-ms is {} when 1234 was asked",
        lock.ttl().as_millis()
    );
    Ok(())
}

async fn create_verifier(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    f.provider
        .create_verifier()
        .await
        .or_fail("create-verifier")?;
    Ok(())
}

async fn features_consistent(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let features = f.provider.features().await.or_fail("features")?;
    let cache = cx.scratch("cache")?;
    let service = f
        .provider
        .create_sync_service(&f.repo, cache.to_str().unwrap_or_default())
        .await
        .or_fail("create-sync-service")?;
    ensure!(
        features.sync == service.is_some(),
        "features.sync is {} but create-sync-service returned {}",
        features.sync,
        if service.is_some() {
            "a service"
        } else {
            "none"
        }
    );
    match f.provider.resolve_cache_path(&f.repo).await {
        Ok(Some(p)) => {
            ensure!(
                features.cache_path,
                "resolve-cache-path returned {p:?} but features.cache-path is false"
            );
            ensure!(
                p.starts_with('/'),
                "resolve-cache-path returned {p:?}, not an absolute path"
            );
        }
        Ok(None) => {}
        Err(HostError::Datastore(DatastoreError::Unsupported(_))) if !features.cache_path => {}
        Err(e) => fail!("resolve-cache-path: {e}"),
    }
    if !features.namespaces {
        match f.provider.list_namespaces(&f.datastore_path).await {
            Ok(ns) => ensure!(
                ns.is_empty(),
                "features.namespaces is false but list-namespaces returned {ns:?}"
            ),
            Err(HostError::Datastore(DatastoreError::Unsupported(_))) => {}
            Err(e) => fail!(
                "list-namespaces without the namespaces feature: expected [] or unsupported, got {e}"
            ),
        }
    }
    Ok(())
}

async fn side_effect_free(cx: Ctx) -> Outcome {
    let config = cx.isolated_config()?;
    let Some(dir) = cx.isolated_dir(&config) else {
        return Err(cx.skip_not_a_local_dir("inspect"));
    };
    let provider = cx
        .plugin()
        .open(config.clone(), cx.open_options()?)
        .await
        .or_fail("create-provider")?;
    let repo = cx.repo_dir()?.display().to_string();
    let path = provider
        .resolve_datastore_path(&repo)
        .await
        .or_fail("resolve-datastore-path")?;
    provider
        .create_lock(&path, LockOptions::default())
        .await
        .or_fail("create-lock")?;
    provider
        .create_verifier()
        .await
        .or_fail("create-verifier")?;
    let entries: Vec<String> = std::fs::read_dir(&dir)
        .or_fail("reading the datastore directory")?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ensure!(
        entries.is_empty(),
        "construction wrote to the datastore: {entries:?}"
    );
    Ok(())
}

async fn namespace_claims(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let features = f.provider.features().await.or_fail("features")?;
    if !features.namespaces {
        skip!("features.namespaces is false");
    }
    let (ns, first, second) = ("conformance-ns", "repo-one", "repo-two");
    let dp = &f.datastore_path;
    f.provider
        .register_namespace(dp, ns, first)
        .await
        .or_fail(&format!("register-namespace({ns}) for {first}"))?;
    f.provider
        .register_namespace(dp, ns, first)
        .await
        .or_fail(&format!(
            "register-namespace({ns}) again for the same repo {first}"
        ))?;
    match f.provider.register_namespace(dp, ns, second).await {
        Err(HostError::Datastore(DatastoreError::Conflict(_))) => {}
        Ok(()) => fail!(
            "register-namespace({ns}) for {second} succeeded while {first} held it: a second repository's claim replaced the first"
        ),
        Err(e) => fail!("register-namespace({ns}) for a second repo: expected conflict, got {e}"),
    }
    // The first claim stands: its owner may still renew it, the other not.
    f.provider
        .register_namespace(dp, ns, first)
        .await
        .or_fail(&format!(
            "register-namespace({ns}) for {first} after {second} was refused"
        ))?;
    match f.provider.register_namespace(dp, ns, second).await {
        Err(HostError::Datastore(DatastoreError::Conflict(_))) => {}
        other => fail!("a second refusal of {second}'s claim: expected conflict, got {other:?}"),
    }
    match f.provider.register_namespace(dp, "Not_A_Slug", first).await {
        Err(HostError::Datastore(DatastoreError::InvalidArgument(_))) => {}
        other => fail!("register-namespace(Not_A_Slug): expected invalid-argument, got {other:?}"),
    }
    let listed = f
        .provider
        .list_namespaces(dp)
        .await
        .or_fail("list-namespaces")?;
    ensure!(
        listed.iter().any(|n| n == ns),
        "list-namespaces returned {listed:?}, without the registered {ns}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_pattern() {
        for ok in ["@acme/fs-datastore", "acme/x", "@a1_-/0name", "@acme/s3_v2"] {
            assert!(type_matches(ok), "{ok}");
        }
        for bad in [
            "",
            "acme",
            "@Acme/x",
            "@1acme/x",
            "@acme/-x",
            "@acme/x/y",
            "@acme/",
            "@/x",
            "@acme/X",
            "@@a/x",
            "@acme/x.y",
        ] {
            assert!(!type_matches(bad), "{bad}");
        }
        assert_eq!(collective("@swamp/s3-datastore"), "swamp");
        assert_eq!(collective("si/x"), "si");
    }
}
