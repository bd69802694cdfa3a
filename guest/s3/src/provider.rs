//! The provider: one validated config turned into locks, verifiers and
//! sync services, all sharing one S3 client. The sync WIT calls are
//! synchronous, so each runs the async client on a fresh event loop.

use std::rc::Rc;

use swamp_datastore_sdk::sync::SyncEngine;
use swamp_datastore_sdk::{
    Error, HealthResult, HolderIdentity, Lock, LockOptions, Provider, ProviderFeatures, Result,
    SyncService, Verifier,
};

use crate::client::S3Client;
use crate::http::{Transport, block_on};
use crate::lock;
use crate::namespaces;
use crate::remote::S3Remote;
use crate::verifier::S3Verifier;

/// An S3 datastore provider.
pub struct S3Provider<T: Transport + 'static> {
    client: Rc<S3Client<T>>,
    datastore_type: String,
    identity: fn() -> HolderIdentity,
}

impl<T: Transport + 'static> S3Provider<T> {
    pub fn new(
        client: S3Client<T>,
        datastore_type: &str,
        identity: fn() -> HolderIdentity,
    ) -> S3Provider<T> {
        S3Provider {
            client: Rc::new(client),
            datastore_type: datastore_type.to_string(),
            identity,
        }
    }
}

impl<T: Transport + 'static> Provider for S3Provider<T> {
    fn features(&self) -> ProviderFeatures {
        ProviderFeatures {
            sync: true,
            cache_path: false,
            namespaces: true,
        }
    }

    fn create_lock(&self, _datastore_path: &str, options: LockOptions) -> Result<Box<dyn Lock>> {
        Ok(Box::new(lock::open(
            self.client.clone(),
            &options,
            (self.identity)(),
        )?))
    }

    fn create_verifier(&self) -> Result<Box<dyn Verifier>> {
        Ok(Box::new(S3Verifier::new(
            self.client.clone(),
            &self.datastore_type,
        )))
    }

    fn resolve_datastore_path(&self, repo_dir: &str) -> Result<String> {
        if repo_dir.is_empty() {
            return Err(Error::InvalidArgument("repo-dir is empty".into()));
        }
        Ok(format!("{}/.swamp", repo_dir.trim_end_matches('/')))
    }

    fn create_sync_service(
        &self,
        _repo_dir: &str,
        cache_path: &str,
    ) -> Result<Option<Box<dyn SyncService>>> {
        if !cache_path.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "cache path {cache_path:?} must be absolute"
            )));
        }
        Ok(Some(Box::new(SyncEngine::new(
            S3Remote::new(self.client.clone()),
            cache_path,
        ))))
    }

    fn register_namespace(
        &self,
        _datastore_path: &str,
        namespace: &str,
        repo_id: &str,
    ) -> Result<()> {
        block_on(namespaces::register(&self.client, namespace, repo_id))
    }

    fn list_namespaces(&self, _datastore_path: &str) -> Result<Vec<String>> {
        block_on(namespaces::list(&self.client))
    }
}

impl<T: Transport + 'static> Verifier for S3Verifier<T> {
    fn verify(&self) -> Result<HealthResult> {
        Ok(block_on(S3Verifier::verify(self)))
    }
}
