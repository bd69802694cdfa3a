//! `{{name}}`: a swamp datastore in a directory, as a WebAssembly component.
//!
//! Config: `{"path": "/abs/dir"}` (schema.json). The host mounts that
//! directory and nothing else. Locks are files in it (lock.rs) and the
//! health check probes it (verifier.rs).
// {{#sync}}
//!
//! swamp works in a local cache; the sync service, the SDK's sync engine,
//! moves changes between the cache and the directory, its remote store
//! (remote.rs).
// {{/sync}}

mod lock;
// {{#sync}}
mod remote;
// {{/sync}}
mod verifier;

use swamp_datastore_sdk::config::ConfigCheck;
use swamp_datastore_sdk::serde_json::Value;
// {{#sync}}
use swamp_datastore_sdk::sync::SyncEngine;
use swamp_datastore_sdk::{
    Datastore, Lock, LockOptions, Provider, ProviderFeatures, Result, SyncService, Verifier,
};
// {{/sync}}
// {{^sync}}
use swamp_datastore_sdk::{
    Datastore, Lock, LockOptions, Provider, ProviderFeatures, Result, Verifier,
};
// {{/sync}}

/// `@collective/name`; the collectives `swamp` and `si` are reserved.
const DATASTORE_TYPE: &str = "@my-collective/{{name}}";

struct {{Name}};

impl Datastore for {{Name}} {
    fn datastore_type() -> String {
        DATASTORE_TYPE.into()
    }
    fn name() -> String {
        "{{name}}".into()
    }
    fn description() -> String {
        "{{description}}".into()
    }
    fn config_schema() -> String {
        include_str!("../schema.json").into()
    }
    /// The host validated `config` against schema.json already; check it
    /// again here and report every problem. No I/O until a call needs it.
    fn create_provider(config: Value) -> Result<Box<dyn Provider>> {
        let mut check = ConfigCheck::new(&config);
        let path = check.required_string("path");
        if let Some(path) = &path {
            check.absolute_path("path", path);
        }
        check.deny_unknown(&["path"]);
        check.finish()?;
        Ok(Box::new({{Name}}Provider {
            path: path.unwrap_or_default(),
        }))
    }
}

/// A datastore for one validated config.
struct {{Name}}Provider {
    path: String,
}

impl Provider for {{Name}}Provider {
    fn features(&self) -> ProviderFeatures {
        ProviderFeatures {
            sync: {{sync}},
            ..ProviderFeatures::default()
        }
    }

    fn create_lock(&self, datastore_path: &str, options: LockOptions) -> Result<Box<dyn Lock>> {
        Ok(Box::new(lock::open(datastore_path, &options)?))
    }

    fn create_verifier(&self) -> Result<Box<dyn Verifier>> {
        let verifier = verifier::DirVerifier::new(&self.path, DATASTORE_TYPE);
        Ok(Box::new(verifier))
    }

    /// Where swamp keeps its data and its locks.
    fn resolve_datastore_path(&self, _repo_dir: &str) -> Result<String> {
        Ok(self.path.clone())
    }
    // {{#sync}}

    /// The SDK's sync engine between swamp's cache and the directory; the
    /// directory is only its remote store (remote.rs).
    fn create_sync_service(
        &self,
        _repo_dir: &str,
        cache_path: &str,
    ) -> Result<Option<Box<dyn SyncService>>> {
        let remote = remote::DirRemote::new(&self.path)?;
        Ok(Some(Box::new(SyncEngine::new(remote, cache_path))))
    }
    // {{/sync}}
}

swamp_datastore_sdk::export_datastore!({{Name}});
