//! The provider handle and the instances it makes.
//!
//! A provider lives in its own instance. Each lock and each sync service gets
//! an instance of its own too (cheap from the pre-instantiated component), so
//! a heartbeat never waits behind a long push, and each instance mounts just
//! the directories its handle works on.

use crate::error::{HostError, HostResult};
use crate::guest_resource::GuestResource;
use crate::instance::{Instance, InstanceUsage};
use crate::lock::Lock;
use crate::plugin::Plugin;
use crate::sandbox::{Limits, SandboxPolicy};
use crate::sync::SyncService;
use crate::types::{LockOptions, ProviderFeatures};
use crate::verifier::Verifier;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::ResourceAny;

/// Host-side settings of an opened provider.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Extra directories to mount beside those the config names (for
    /// example the repository directory).
    pub mounts: Vec<PathBuf>,
    /// Limits of this provider's instances (none: the host's defaults).
    pub limits: Option<Limits>,
}

/// A datastore built from one config.
#[derive(Clone)]
pub struct Provider {
    plugin: Plugin,
    config: Value,
    options: OpenOptions,
    /// The guest provider, in this provider's own instance; dropped in the
    /// guest when the last clone goes.
    guest: GuestResource,
}

impl Provider {
    pub(crate) async fn open(
        plugin: Plugin,
        config: Value,
        options: OpenOptions,
    ) -> HostResult<Self> {
        let (instance, resource) = Self::instantiate(&plugin, &config, &options, &[]).await?;
        Ok(Self {
            plugin,
            config,
            options,
            guest: GuestResource::new(instance, resource),
        })
    }

    /// A fresh sandboxed instance holding a provider made from `config`.
    async fn instantiate(
        plugin: &Plugin,
        config: &Value,
        options: &OpenOptions,
        extra_mounts: &[PathBuf],
    ) -> HostResult<(Arc<Instance>, ResourceAny)> {
        let host = &plugin.inner.host;
        let mounts: Vec<PathBuf> = options.mounts.iter().chain(extra_mounts).cloned().collect();
        let limits = options
            .limits
            .clone()
            .unwrap_or_else(|| host.options().limits.clone());
        let env = host.options().env_source.clone();
        let policy = SandboxPolicy::derive(plugin.schema(), config, &mounts, &|k| env(k), limits)?;
        let instance = Instance::new(
            host,
            &plugin.inner.pre,
            policy,
            host.options().identity.clone(),
        )
        .await?;
        let json = config.to_string();
        let resource = instance
            .call("create-provider", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_datastore()
                        .call_create_provider(s, &json)
                        .await
                })
            })
            .await?;
        Ok((instance, resource))
    }

    /// The plugin this provider was opened from.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The sandbox of this provider's own instance.
    pub fn policy(&self) -> &SandboxPolicy {
        &self.guest.instance().policy
    }

    /// The HTTP requests the sandbox refused in this provider's instance.
    pub fn denied_requests(&self) -> Vec<String> {
        self.guest
            .instance()
            .denied_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Memory and HTTP requests of this provider's own instance so far.
    pub fn usage(&self) -> InstanceUsage {
        self.guest.instance().meters.snapshot()
    }

    /// Which optional calls this provider implements (sync, cache path,
    /// namespaces); a call not listed fails with
    /// [`DatastoreError::Unsupported`](crate::DatastoreError::Unsupported).
    pub async fn features(&self) -> HostResult<ProviderFeatures> {
        let r = self.guest.get();
        self.guest
            .instance()
            .call_infallible("provider.features", move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_features(s, r)
                        .await
                })
            })
            .await
            .map(Into::into)
    }

    /// A lock on `datastore_path`, in an instance of its own that also mounts
    /// `datastore_path`. No I/O happens until acquire.
    pub async fn create_lock(
        &self,
        datastore_path: &str,
        options: LockOptions,
    ) -> HostResult<Lock> {
        let extra = mount_if_absolute(datastore_path);
        let (instance, provider) =
            Self::instantiate(&self.plugin, &self.config, &self.options, &extra).await?;
        let path = datastore_path.to_string();
        let wit_options = crate::bindings::guest::lock::LockOptions::from(&options);
        let resource = instance
            .call("provider.create-lock", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_create_lock(s, provider, &path, &wit_options)
                        .await
                })
            })
            .await?;
        // The provider was made only to make the lock: the guest may free it.
        instance.drop_later(provider);
        Lock::new(instance, resource, options).await
    }

    /// A health probe, in this provider's instance.
    pub async fn create_verifier(&self) -> HostResult<Verifier> {
        let r = self.guest.get();
        let resource = self
            .guest
            .instance()
            .call("provider.create-verifier", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_create_verifier(s, r)
                        .await
                })
            })
            .await?;
        Ok(Verifier::new(self.guest.instance().clone(), resource))
    }

    /// Where the datastore keeps its data for the repository at `repo_dir`:
    /// a non-empty absolute path, the one to pass to
    /// [`create_lock`](Self::create_lock) and the namespace calls.
    pub async fn resolve_datastore_path(&self, repo_dir: &str) -> HostResult<String> {
        let (r, repo) = (self.guest.get(), repo_dir.to_string());
        self.guest
            .instance()
            .call("provider.resolve-datastore-path", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_resolve_datastore_path(s, r, &repo)
                        .await
                })
            })
            .await
    }

    /// The cache directory the provider chooses for the repository at
    /// `repo_dir`, or `None` for the host's default
    /// (`~/.swamp/repos/{repo-id}`).
    pub async fn resolve_cache_path(&self, repo_dir: &str) -> HostResult<Option<String>> {
        let (r, repo) = (self.guest.get(), repo_dir.to_string());
        self.guest
            .instance()
            .call("provider.resolve-cache-path", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_resolve_cache_path(s, r, &repo)
                        .await
                })
            })
            .await
    }

    /// A sync service between `cache_path` (created if missing) and the
    /// remote, in an instance of its own that mounts the repo and the cache.
    /// None when the datastore has no sync (it is locally accessible).
    pub async fn create_sync_service(
        &self,
        repo_dir: &str,
        cache_path: &str,
    ) -> HostResult<Option<SyncService>> {
        let cache = Path::new(cache_path);
        if !cache.is_absolute() {
            return Err(HostError::Sandbox(format!(
                "cache path {cache_path:?} must be absolute"
            )));
        }
        std::fs::create_dir_all(cache)
            .map_err(|e| HostError::Sandbox(format!("cannot create cache {cache_path}: {e}")))?;
        let mut extra = mount_if_absolute(repo_dir);
        extra.push(cache.to_path_buf());
        let (instance, provider) =
            Self::instantiate(&self.plugin, &self.config, &self.options, &extra).await?;
        let (repo, cache) = (repo_dir.to_string(), cache_path.to_string());
        let resource = instance
            .call("provider.create-sync-service", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_create_sync_service(s, provider, &repo, &cache)
                        .await
                })
            })
            .await?;
        // The provider was made only to make the service: the guest may free it.
        instance.drop_later(provider);
        Ok(resource.map(|r| SyncService::new(instance, r)))
    }

    /// Claim `namespace` for the repository `repo_id` in the datastore at
    /// `datastore_path`; fails with
    /// [`DatastoreError::Conflict`](crate::DatastoreError::Conflict) when
    /// another repository claimed it first.
    pub async fn register_namespace(
        &self,
        datastore_path: &str,
        namespace: &str,
        repo_id: &str,
    ) -> HostResult<()> {
        let r = self.guest.get();
        let (p, ns, id) = (
            datastore_path.to_string(),
            namespace.to_string(),
            repo_id.to_string(),
        );
        self.guest
            .instance()
            .call("provider.register-namespace", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_register_namespace(s, r, &p, &ns, &id)
                        .await
                })
            })
            .await
    }

    /// The namespaces registered in the datastore at `datastore_path`;
    /// empty when none has been registered.
    pub async fn list_namespaces(&self, datastore_path: &str) -> HostResult<Vec<String>> {
        let (r, p) = (self.guest.get(), datastore_path.to_string());
        self.guest
            .instance()
            .call("provider.list-namespaces", None, move |s, b| {
                Box::pin(async move {
                    b.swamp_datastore_provider()
                        .datastore_provider()
                        .call_list_namespaces(s, r, &p)
                        .await
                })
            })
            .await
    }
}

/// Paths the caller hands to the guest are mounted; anything relative is
/// left to the guest to refuse.
fn mount_if_absolute(path: &str) -> Vec<PathBuf> {
    let p = PathBuf::from(path);
    if p.is_absolute() { vec![p] } else { Vec::new() }
}
