//! What a check body gets: [`Ctx`] (the subject and the check's id), with
//! the helpers that give the check a datastore, scratch directories and a
//! repository of its own, and the [`Fixture`] (a provider opened on that
//! datastore) that makes its locks and sync services.

use super::subject::mount_fields;
use super::{NEEDS_INPUT, OrFail, Status, Subject};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use swamp_host::{Lock, LockOptions, OpenOptions, Plugin, Provider, SyncService};

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
