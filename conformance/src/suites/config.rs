//! Config validation: the schema and create-provider must agree on every
//! valid config, the author's invalid ones, and invalid variants generated
//! from the schema.

use crate::framework::{Check, Ctx, Outcome, Status, Suite, check, fail, skip, skip_for_input};
use crate::variants::invalid_variants;
use serde_json::Value;
use swamp_host::{ConfigProblem, DatastoreError, HostError};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "config.valid-accepted-by-schema",
            Suite::Config,
            "every valid config passes the JSON Schema",
            valid_by_schema
        ),
        check!(
            "config.valid-accepted-by-provider",
            Suite::Config,
            "create-provider accepts every valid config",
            valid_by_provider
        ),
        check!(
            "config.invalid-rejected-by-schema",
            Suite::Config,
            "the JSON Schema rejects every invalid config given by the author, with paths",
            invalid_by_schema
        ),
        check!(
            "config.invalid-rejected-by-provider",
            Suite::Config,
            "create-provider itself rejects every invalid config given by the author with invalid-config and paths",
            invalid_by_provider
        ),
        check!(
            "config.generated-rejected-by-schema",
            Suite::Config,
            "the JSON Schema rejects variants generated from it (missing required field, wrong type, unknown field)",
            generated_by_schema
        ),
        check!(
            "config.generated-rejected-by-provider",
            Suite::Config,
            "create-provider rejects the generated invalid variants with invalid-config and paths",
            generated_by_provider
        ),
    ]
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!("{}…", &s[..120])
    } else {
        s
    }
}

/// Problems must each carry a JSON Pointer ("" or "/...").
fn bad_paths(problems: &[ConfigProblem]) -> Option<String> {
    problems
        .iter()
        .find(|p| !(p.path.is_empty() || p.path.starts_with('/')))
        .map(|p| format!("problem path {:?} is not a JSON Pointer", p.path))
}

fn collect(failures: Vec<String>) -> Outcome {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Status::Fail(failures.join("; ")))
    }
}

async fn valid_by_schema(cx: Ctx) -> Outcome {
    let mut failures = Vec::new();
    for c in cx.subject.all_valid_configs() {
        let problems = cx.plugin().validate_config(&c);
        if !problems.is_empty() {
            failures.push(format!("{} rejected: {}", short(&c), describe(&problems)));
        }
    }
    collect(failures)
}

async fn valid_by_provider(cx: Ctx) -> Outcome {
    let mut failures = Vec::new();
    for c in cx.subject.all_valid_configs() {
        if let Err(e) = cx.plugin().open(c.clone(), cx.open_options()?).await {
            failures.push(format!("{} rejected: {e}", short(&c)));
        }
    }
    collect(failures)
}

fn describe(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                if p.path.is_empty() { "(root)" } else { &p.path },
                p.message
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn schema_rejects(cx: &Ctx, label: &str, c: &Value) -> Option<String> {
    let problems = cx.plugin().validate_config(c);
    if problems.is_empty() {
        return Some(format!("{label} accepted by the schema"));
    }
    bad_paths(&problems).map(|why| format!("{label}: {why}"))
}

/// create-provider without the host's schema check: the guest itself must
/// answer invalid-config listing problems with paths.
async fn provider_rejects(cx: &Ctx, label: &str, c: &Value) -> Result<Option<String>, Status> {
    Ok(
        match cx
            .plugin()
            .open_unchecked(c.clone(), cx.open_options()?)
            .await
        {
            Ok(_) => Some(format!("{label} accepted by create-provider")),
            Err(HostError::Datastore(DatastoreError::InvalidConfig(problems))) => {
                if problems.is_empty() {
                    Some(format!(
                        "{label}: invalid-config without any problem listed"
                    ))
                } else {
                    bad_paths(&problems).map(|why| format!("{label}: {why}"))
                }
            }
            // The sandbox refused the config (e.g. a relative mount) before the
            // guest was called: the config is refused, but the guest's own
            // validation cannot be observed for it.
            Err(HostError::Sandbox(_)) => None,
            Err(e) => Some(format!("{label}: expected invalid-config, got {e}")),
        },
    )
}

async fn invalid_by_schema(cx: Ctx) -> Outcome {
    if cx.subject.invalid_configs.is_empty() {
        skip_for_input!(
            "no invalid configs given by the author: pass some with `check --invalid-config JSON` (generated ones are checked by config.generated-*)"
        );
    }
    let failures = cx
        .subject
        .invalid_configs
        .iter()
        .filter_map(|c| schema_rejects(&cx, &short(c), c))
        .collect();
    collect(failures)
}

async fn invalid_by_provider(cx: Ctx) -> Outcome {
    if cx.subject.invalid_configs.is_empty() {
        skip_for_input!(
            "no invalid configs given by the author: pass some with `check --invalid-config JSON` (generated ones are checked by config.generated-*)"
        );
    }
    let mut failures = Vec::new();
    for c in &cx.subject.invalid_configs {
        if let Some(f) = provider_rejects(&cx, &short(c), c).await? {
            failures.push(f);
        }
    }
    collect(failures)
}

fn generated(cx: &Ctx) -> Result<Vec<crate::variants::Variant>, Status> {
    let v = invalid_variants(cx.plugin().schema(), &cx.subject.config);
    if v.is_empty() {
        skip!(
            "the schema declares no required field, typed property or closed property set to break"
        );
    }
    Ok(v)
}

async fn generated_by_schema(cx: Ctx) -> Outcome {
    let failures = generated(&cx)?
        .iter()
        .filter_map(|v| schema_rejects(&cx, &format!("config {}", v.label), &v.config))
        .collect();
    collect(failures)
}

async fn generated_by_provider(cx: Ctx) -> Outcome {
    let mut failures = Vec::new();
    for v in generated(&cx)? {
        if let Some(f) = provider_rejects(&cx, &format!("config {}", v.label), &v.config).await? {
            failures.push(f);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        fail!("{}", failures.join("; "))
    }
}
