//! A loaded component: compiled and linked once, with its identity and
//! config schema read; opens providers in fresh sandboxed instances.

use crate::bindings::ExportsPre;
use crate::error::{HostError, HostResult};
use crate::host::Host;
use crate::instance::{GuestState, Instance, InstanceUsage};
use crate::provider::{OpenOptions, Provider};
use crate::sandbox::SandboxPolicy;
use crate::schema::ConfigSchema;
use crate::types::{ConfigProblem, DatastoreInfo};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) struct PluginInner {
    pub(crate) host: Host,
    pub(crate) path: PathBuf,
    pub(crate) pre: ExportsPre<GuestState>,
    pub(crate) info: DatastoreInfo,
    pub(crate) schema: ConfigSchema,
}

/// A datastore component ready to be opened; cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<PluginInner>,
}

impl Plugin {
    pub(crate) async fn new(
        host: Host,
        path: &Path,
        pre: ExportsPre<GuestState>,
    ) -> HostResult<Self> {
        // Read the identity in an instance that may touch nothing at all.
        let policy = SandboxPolicy {
            limits: host.options().limits.clone(),
            ..SandboxPolicy::default()
        };
        let instance = Instance::new(&host, &pre, policy, host.options().identity.clone()).await?;
        let text = |name: &'static str| {
            let instance = instance.clone();
            async move {
                instance
                    .call_infallible(name, move |s, b| {
                        Box::pin(async move {
                            let d = b.swamp_datastore_datastore();
                            match name {
                                "datastore-type" => d.call_datastore_type(s).await,
                                "name" => d.call_name(s).await,
                                "description" => d.call_description(s).await,
                                _ => d.call_config_schema(s).await,
                            }
                        })
                    })
                    .await
            }
        };
        let info = DatastoreInfo {
            datastore_type: text("datastore-type").await?,
            name: text("name").await?,
            description: text("description").await?,
            config_schema: text("config-schema").await?,
        };
        let schema = ConfigSchema::compile(&path.display().to_string(), &info.config_schema)?;
        Ok(Self {
            inner: Arc::new(PluginInner {
                host,
                path: path.to_path_buf(),
                pre,
                info,
                schema,
            }),
        })
    }

    /// Type, name, description and schema text, as the component exports them.
    pub fn info(&self) -> &DatastoreInfo {
        &self.inner.info
    }

    /// Whether the component exports `shared-store` (built against WIT
    /// 0.1.1 or later); without it no sync service has shared features.
    pub fn has_shared_store(&self) -> bool {
        self.inner.pre.has_shared_store()
    }

    /// The component file this plugin was loaded from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The parsed config schema.
    pub fn schema(&self) -> &Value {
        &self.inner.schema.json
    }

    /// Every problem of `config` against the component's JSON Schema (empty
    /// when it is valid).
    pub fn validate_config(&self, config: &Value) -> Vec<ConfigProblem> {
        self.inner.schema.problems(config)
    }

    /// Validate `config`, derive the sandbox from it, instantiate the
    /// component and call create-provider.
    pub async fn open(&self, config: Value, options: OpenOptions) -> HostResult<Provider> {
        let problems = self.validate_config(&config);
        if !problems.is_empty() {
            return Err(HostError::InvalidConfig {
                datastore_type: self.inner.info.datastore_type.clone(),
                problems,
            });
        }
        Provider::open(self.clone(), config, options).await
    }

    /// Instantiate the component once more, in a sandbox that grants
    /// nothing, and drop the instance: the fixed cost every provider, lock
    /// and sync service pays before its first call (they are all made from
    /// the same pre-instantiated component). Benchmarks time it; the usage
    /// returned is that of a fresh instance.
    pub async fn instantiate_bare(&self) -> HostResult<InstanceUsage> {
        let host = &self.inner.host;
        let policy = SandboxPolicy {
            limits: host.options().limits.clone(),
            ..SandboxPolicy::default()
        };
        let instance = Instance::new(
            host,
            &self.inner.pre,
            policy,
            host.options().identity.clone(),
        )
        .await?;
        Ok(instance.meters.snapshot())
    }

    /// create-provider without the host-side schema check, so a test can
    /// see what the guest itself does with a config the schema rejects.
    pub async fn open_unchecked(
        &self,
        config: Value,
        options: OpenOptions,
    ) -> HostResult<Provider> {
        Provider::open(self.clone(), config, options).await
    }
}
