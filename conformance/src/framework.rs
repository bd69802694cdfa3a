//! The machinery every check shares: what is checked ([`Subject`]), the
//! check registry, the runner (per-check timeout, panics become failures),
//! and the isolation helpers that give a check a datastore of its own.

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use swamp_host::{Lock, LockOptions, OpenOptions, Plugin, Provider, SyncService};

/// What the suite checks: one loaded component and the configs to check it
/// with.
#[derive(Clone)]
pub struct Subject {
    /// The loaded component under check; every provider, lock and sync
    /// service the checks open is made from it.
    pub plugin: Plugin,
    /// The main valid config.
    pub config: Value,
    /// More valid configs from the author; `config` is always checked too.
    pub valid_configs: Vec<Value>,
    /// Configs the author says are invalid: schema and create-provider must
    /// both reject each one.
    pub invalid_configs: Vec<Value>,
    /// Labelled configs whose datastore is missing or unwritable; the
    /// verifier must call each unhealthy. The check is skipped when empty.
    pub unhealthy_configs: Vec<(String, Value)>,
    /// Scratch directory the suite may use (repo dirs, caches). Created on
    /// demand.
    pub workdir: PathBuf,
    /// A string config field the suite extends with `/<check-id>` so that
    /// every check works on a datastore of its own (starting empty when the
    /// field is a directory marked `"x-swamp-mount": true`, which the suite
    /// creates). None: every check shares `config`'s datastore.
    pub isolate_by: Option<String>,
    /// The repository directory handed to the provider (none: a directory
    /// under `workdir`).
    pub repo_dir: Option<PathBuf>,
    /// How long one check may take before it is failed.
    pub check_timeout: Duration,
    /// The seed of the generated trees (`sync.generated-tree`); a failure
    /// names it, and the same seed replays the same trees.
    pub seed: u64,
    /// Direct access to the objects of a datastore that is not a local
    /// directory (a bucket), for the checks that plant or alter stored
    /// files; they skip without it.
    pub raw_store: Option<Arc<dyn crate::raw_store::RawStore>>,
}

/// The properties a config schema marks `"x-swamp-mount": true`.
pub fn mount_fields(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, v)| {
                    v.get(swamp_host::sandbox::MOUNT_KEYWORD)
                        .and_then(Value::as_bool)
                        == Some(true)
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A seed that differs from run to run.
fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5eed)
}

/// The field [`Subject::new`] isolates by (see there).
pub fn default_isolation(schema: &Value, config: &Value) -> Option<String> {
    let set = |k: &str| config.get(k).is_some_and(Value::is_string);
    match mount_fields(schema).as_slice() {
        [only] if set(only) => Some(only.clone()),
        _ => ["path", "prefix"]
            .into_iter()
            .find(|k| set(k))
            .map(str::to_string),
    }
}

impl Subject {
    /// A subject with sensible defaults: no extra configs, isolation by the
    /// schema's only `x-swamp-mount` field when it has exactly one (and the
    /// config sets it), else by the string field `path` if the config has
    /// one, else `prefix`.
    pub fn new(plugin: Plugin, config: Value, workdir: PathBuf) -> Self {
        let isolate_by = default_isolation(plugin.schema(), &config);
        Self {
            plugin,
            config,
            valid_configs: Vec::new(),
            invalid_configs: Vec::new(),
            unhealthy_configs: Vec::new(),
            workdir,
            isolate_by,
            repo_dir: None,
            check_timeout: Duration::from_secs(60),
            seed: fresh_seed(),
            raw_store: None,
        }
    }

    /// `config` followed by the other valid configs, without duplicates.
    pub fn all_valid_configs(&self) -> Vec<Value> {
        let mut all = vec![self.config.clone()];
        for c in &self.valid_configs {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
        all
    }
}

/// A group of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// The component's identity, its config schema and the provider
    /// factory.
    Export,
    /// Config validation: the schema and create-provider must agree on
    /// valid configs, the author's invalid ones and generated invalid ones.
    Config,
    /// The distributed lock, alone and between separate handles as two
    /// processes would use it.
    Lock,
    /// Health checks: well-formed results, healthy on a good datastore,
    /// unhealthy with a reason on a missing or unwritable one.
    Verifier,
    /// Sync between a cache and the remote store: round trips, the
    /// markDirty rules, each advertised capability and hostile remote
    /// indexes.
    Sync,
    /// The shared-store calls of `wit/shared-store.wit`, each checked only
    /// when the sync service advertises its feature.
    Shared,
}

impl Suite {
    /// Every suite, in the order their checks run and reports list them.
    pub const ALL: [Suite; 6] = [
        Suite::Export,
        Suite::Config,
        Suite::Lock,
        Suite::Verifier,
        Suite::Sync,
        Suite::Shared,
    ];

    /// The lower-case name used in check ids (`lock.` in
    /// `lock.mutual-exclusion`), reports and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Export => "export",
            Suite::Config => "config",
            Suite::Lock => "lock",
            Suite::Verifier => "verifier",
            Suite::Sync => "sync",
            Suite::Shared => "shared",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown suite or format name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

impl FromStr for Suite {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ParseError(format!(
                    "unknown suite {s:?}: expected one of export, config, lock, verifier, sync, shared"
                ))
            })
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The component did what the check asks.
    Pass,
    /// The component does not honour the contract; the reason says how.
    Fail(String),
    /// The check does not apply (a capability not advertised, no configs
    /// given); the reason says why.
    Skipped(String),
}

impl Status {
    /// A skip the author can lift by giving an input (its reason starts with "needs input: ").
    pub fn needs_input(&self) -> bool {
        matches!(self, Status::Skipped(m) if m.starts_with(NEEDS_INPUT))
    }

    /// The status in lower case, `pass`, `fail` or `skipped`, as the JSON
    /// report's `status` field gives it.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail(_) => "fail",
            Status::Skipped(_) => "skipped",
        }
    }

    /// The failure or skip reason; empty on pass.
    pub fn message(&self) -> &str {
        match self {
            Status::Pass => "",
            Status::Fail(m) | Status::Skipped(m) => m,
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's stable id, `<suite>.<kebab-case-name>`.
    pub id: &'static str,
    /// The suite the check belongs to.
    pub suite: Suite,
    /// What the check verifies, in one line (as in the catalogue).
    pub description: &'static str,
    /// Pass, or fail or skip with the reason.
    pub status: Status,
    /// Wall-clock time the check took; a check still running at the
    /// subject's `check_timeout` is failed at that point.
    pub duration: Duration,
}

/// Which checks to run; empty lists mean all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Run only checks of these suites; empty for every suite.
    pub suites: Vec<Suite>,
    /// Run only the checks with these exact ids; empty for every id.
    pub ids: Vec<String>,
}

impl Filter {
    /// Whether the check `id` of `suite` is selected: it must pass both the
    /// suite list and the id list.
    pub fn matches(&self, id: &str, suite: Suite) -> bool {
        (self.suites.is_empty() || self.suites.contains(&suite))
            && (self.ids.is_empty() || self.ids.iter().any(|i| i == id))
    }
}

/// What a check body returns: `Ok(())` is a pass; `Err(status)` a failure
/// or a skip.
pub(crate) type Outcome = Result<(), Status>;

/// A registered check.
pub(crate) struct Check {
    pub id: &'static str,
    pub suite: Suite,
    pub description: &'static str,
    pub run: fn(Ctx) -> BoxFuture<'static, Outcome>,
}

/// Registers an `async fn(Ctx) -> Outcome` as a check.
macro_rules! check {
    ($id:literal, $suite:expr, $desc:literal, $f:path) => {
        $crate::framework::Check {
            id: $id,
            suite: $suite,
            description: $desc,
            run: |cx| Box::pin($f(cx)),
        }
    };
}
pub(crate) use check;

/// Fail the check with a formatted reason.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::framework::Status::Fail(format!($($arg)*)))
    };
}
pub(crate) use fail;

/// Fail the check unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::framework::fail!($($arg)*);
        }
    };
}
pub(crate) use ensure;

/// Skip the check with a formatted reason.
macro_rules! skip {
    ($($arg:tt)*) => {
        return Err($crate::framework::Status::Skipped(format!($($arg)*)))
    };
}
pub(crate) use skip;

/// The start of the reason of a skip that the author can lift by giving
/// the suite an input (a config, a flag); `check --strict` fails on these.
pub const NEEDS_INPUT: &str = "needs input: ";

/// Skip the check for want of an input the author could give; the reason
/// should name the flag that gives it.
macro_rules! skip_for_input {
    ($($arg:tt)*) => {
        return Err($crate::framework::Status::Skipped(format!(
            "{}{}",
            $crate::framework::NEEDS_INPUT,
            format!($($arg)*)
        )))
    };
}
pub(crate) use skip_for_input;

/// Turns any error into a failure naming the step that failed.
pub(crate) trait OrFail<T> {
    fn or_fail(self, step: &str) -> Result<T, Status>;
}

impl<T, E: fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, step: &str) -> Result<T, Status> {
        self.map_err(|e| Status::Fail(format!("{step}: {e}")))
    }
}

/// Run every registered check that matches `filter`, one after the other.
pub(crate) async fn run_checks(
    subject: &Subject,
    checks: Vec<Check>,
    filter: &Filter,
) -> Vec<CheckResult> {
    let subject = Arc::new(subject.clone());
    let mut results = Vec::new();
    for check in checks.into_iter().filter(|c| filter.matches(c.id, c.suite)) {
        let cx = Ctx {
            subject: subject.clone(),
            id: check.id,
        };
        let started = Instant::now();
        let status = settle((check.run)(cx), subject.check_timeout).await;
        results.push(CheckResult {
            id: check.id,
            suite: check.suite,
            description: check.description,
            status,
            duration: started.elapsed(),
        });
    }
    results
}

/// Await a check body within `timeout`; a panic or a timeout is a failure.
pub(crate) async fn settle(body: impl Future<Output = Outcome>, timeout: Duration) -> Status {
    match tokio::time::timeout(timeout, AssertUnwindSafe(body).catch_unwind()).await {
        Ok(Ok(Ok(()))) => Status::Pass,
        Ok(Ok(Err(status))) => status,
        Ok(Err(panic)) => Status::Fail(format!("the check panicked: {}", panic_message(&panic))),
        Err(_) => Status::Fail(format!(
            "the check did not finish within {} ms",
            timeout.as_millis()
        )),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

/// What a check body gets: the subject and its own id, with helpers that
/// give it a datastore and scratch directories of its own.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub subject: Arc<Subject>,
    pub id: &'static str,
}

impl Ctx {
    pub fn plugin(&self) -> &Plugin {
        &self.subject.plugin
    }

    pub fn datastore_type(&self) -> &str {
        &self.subject.plugin.info().datastore_type
    }

    /// Is the isolation field a directory (schema `x-swamp-mount`)?
    fn isolation_is_mount(&self) -> bool {
        let Some(field) = &self.subject.isolate_by else {
            return false;
        };
        self.plugin()
            .schema()
            .get("properties")
            .and_then(|p| p.get(field))
            .and_then(|p| p.get(swamp_host::sandbox::MOUNT_KEYWORD))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether checks get a datastore of their own.
    pub fn isolated(&self) -> bool {
        self.subject
            .isolate_by
            .as_ref()
            .is_some_and(|f| self.subject.config.get(f).is_some_and(Value::is_string))
    }

    /// The main config, moved to a datastore of this check's own (named
    /// `suffix` inside the check's slot). When the isolation field is a
    /// mounted directory it is created empty.
    pub fn isolated_config_named(&self, suffix: &str) -> Result<Value, Status> {
        let mut config = self.subject.config.clone();
        let Some(field) = self.subject.isolate_by.clone() else {
            return Ok(config);
        };
        let Some(base) = config.get(&field).and_then(Value::as_str) else {
            return Ok(config);
        };
        let mut value = format!("{}/{}", base.trim_end_matches('/'), self.id);
        if !suffix.is_empty() {
            value = format!("{value}-{suffix}");
        }
        if self.isolation_is_mount() {
            let dir = Path::new(&value);
            if dir.exists() {
                std::fs::remove_dir_all(dir).or_fail("clearing the check's datastore directory")?;
            }
            std::fs::create_dir_all(dir).or_fail("creating the check's datastore directory")?;
        }
        config[&field] = Value::String(value);
        Ok(config)
    }

    pub fn isolated_config(&self) -> Result<Value, Status> {
        self.isolated_config_named("")
    }

    /// Skip a check that needs the datastore as a local directory it can
    /// look into (`what`): for want of input when the schema has a mount
    /// field the author could isolate by, plainly otherwise.
    pub fn skip_not_a_local_dir(&self, what: &str) -> Status {
        let mounts = mount_fields(self.plugin().schema());
        if mounts.is_empty() {
            return Status::Skipped(format!(
                "the datastore is not a local directory the suite can {what} (the schema has no x-swamp-mount field)"
            ));
        }
        Status::Skipped(format!(
            "{NEEDS_INPUT}the datastore is not a local directory the suite can {what}: isolate by a mount field with `check --isolate-by {}`",
            mounts.join("|")
        ))
    }

    /// The directory of this check's datastore, when isolation is by a
    /// mounted directory.
    pub fn isolated_dir(&self, config: &Value) -> Option<PathBuf> {
        if !self.isolated() || !self.isolation_is_mount() {
            return None;
        }
        let field = self.subject.isolate_by.as_ref()?;
        config.get(field).and_then(Value::as_str).map(PathBuf::from)
    }

    /// Direct access to the objects of the datastore `config` names: the
    /// directory when isolation is by a mounted directory, else the
    /// subject's raw store, if any.
    pub fn raw(&self, config: &Value) -> Option<crate::raw_store::Raw> {
        let store: Arc<dyn crate::raw_store::RawStore> = match self.isolated_dir(config) {
            Some(dir) => Arc::new(crate::raw_store::DirStore(dir)),
            None => self.subject.raw_store.clone()?,
        };
        Some(crate::raw_store::Raw {
            store,
            config: config.clone(),
        })
    }

    /// A fresh, empty scratch directory `workdir/<check-id>/<name>`.
    pub fn scratch(&self, name: &str) -> Result<PathBuf, Status> {
        let dir = self.subject.workdir.join(self.id).join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).or_fail("clearing a scratch directory")?;
        }
        std::fs::create_dir_all(&dir).or_fail("creating a scratch directory")?;
        Ok(dir)
    }

    /// The repository directory handed to the provider (created).
    pub fn repo_dir(&self) -> Result<PathBuf, Status> {
        let dir = match &self.subject.repo_dir {
            Some(d) => d.clone(),
            None => self.subject.workdir.join("repo"),
        };
        std::fs::create_dir_all(&dir).or_fail("creating the repository directory")?;
        Ok(dir)
    }

    pub fn open_options(&self) -> Result<OpenOptions, Status> {
        Ok(OpenOptions {
            mounts: vec![self.repo_dir()?],
            limits: None,
        })
    }

    /// A provider on this check's own datastore, with its resolved
    /// datastore path.
    pub async fn fixture(&self) -> Result<Fixture, Status> {
        self.fixture_named("").await
    }

    pub async fn fixture_named(&self, suffix: &str) -> Result<Fixture, Status> {
        self.fixture_with(suffix, None).await
    }

    /// As [`fixture_named`](Self::fixture_named), with the instances'
    /// limits set (none: the host's).
    pub async fn fixture_with(
        &self,
        suffix: &str,
        limits: Option<swamp_host::Limits>,
    ) -> Result<Fixture, Status> {
        let config = self.isolated_config_named(suffix)?;
        let mut options = self.open_options()?;
        options.limits = limits;
        let provider = self
            .plugin()
            .open(config.clone(), options)
            .await
            .or_fail("create-provider with the main config")?;
        let repo = self.repo_dir()?;
        let repo = repo
            .to_str()
            .ok_or_else(|| Status::Fail("repo dir is not UTF-8".into()))?
            .to_string();
        let datastore_path = provider
            .resolve_datastore_path(&repo)
            .await
            .or_fail("resolve-datastore-path")?;
        Ok(Fixture {
            cx: self.clone(),
            provider,
            config,
            repo,
            datastore_path,
        })
    }
}

/// A provider opened for one check.
pub(crate) struct Fixture {
    pub cx: Ctx,
    pub provider: Provider,
    pub config: Value,
    pub repo: String,
    pub datastore_path: String,
}

impl Fixture {
    /// Lock options for this check: the given ones, with a per-check key
    /// when checks share one datastore (no isolation) and no key was given.
    pub fn lock_options(&self, options: LockOptions) -> LockOptions {
        if options.lock_key.is_none() && !self.cx.isolated() {
            return LockOptions {
                lock_key: Some(format!("conformance/{}.lock", self.cx.id)),
                ..options
            };
        }
        options
    }

    /// A new lock handle (its own guest instance).
    pub async fn lock(&self, options: LockOptions) -> Result<Lock, Status> {
        self.provider
            .create_lock(&self.datastore_path, self.lock_options(options))
            .await
            .or_fail("create-lock")
    }

    /// A sync service on a fresh cache `name` under the check's scratch
    /// directory; skips the check when the provider has no sync service.
    pub async fn sync(&self, name: &str) -> Result<(SyncService, PathBuf), Status> {
        let cache = self.cx.scratch(name)?;
        let service = self.sync_on(&cache).await?;
        Ok((service, cache))
    }

    /// A sync service on an existing cache directory (a "restart").
    pub async fn sync_on(&self, cache: &Path) -> Result<SyncService, Status> {
        let cache_str = cache
            .to_str()
            .ok_or_else(|| Status::Fail("cache dir is not UTF-8".into()))?;
        match self
            .provider
            .create_sync_service(&self.repo, cache_str)
            .await
            .or_fail("create-sync-service")?
        {
            Some(s) => Ok(s),
            None => Err(Status::Skipped(
                "the provider has no sync service (create-sync-service returned none)".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_defaults_to_the_only_mount_field() {
        let schema = |props: Value| serde_json::json!({"type": "object", "properties": props});
        let one = schema(serde_json::json!({
            "root": {"type": "string", "x-swamp-mount": true},
            "path": {"type": "string"},
        }));
        let config = serde_json::json!({"root": "/srv/a", "path": "/srv/b"});
        assert_eq!(default_isolation(&one, &config).as_deref(), Some("root"));
        // Unset in the config: the usual fallback.
        let config = serde_json::json!({"path": "/srv/b"});
        assert_eq!(default_isolation(&one, &config).as_deref(), Some("path"));
        // Two mounts: no guess; path, else prefix.
        let two = schema(serde_json::json!({
            "a": {"type": "string", "x-swamp-mount": true},
            "b": {"type": "string", "x-swamp-mount": true},
        }));
        let config = serde_json::json!({"a": "/x", "b": "/y", "prefix": "p"});
        assert_eq!(default_isolation(&two, &config).as_deref(), Some("prefix"));
        assert_eq!(
            default_isolation(&two, &serde_json::json!({"a": "/x"})),
            None
        );
        assert_eq!(mount_fields(&two), vec!["a".to_string(), "b".to_string()]);
    }

    #[tokio::test]
    async fn panics_and_timeouts_become_failures() {
        let t = Duration::from_millis(100);
        assert_eq!(settle(async { Ok(()) }, t).await, Status::Pass);
        assert_eq!(
            settle(async { Err(Status::Skipped("why".into())) }, t).await,
            Status::Skipped("why".into())
        );
        match settle(async { panic!("boom") }, t).await {
            Status::Fail(m) => assert!(m.contains("panicked") && m.contains("boom"), "{m}"),
            other => panic!("{other:?}"),
        }
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        match settle(slow, t).await {
            Status::Fail(m) => assert!(m.contains("did not finish"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
