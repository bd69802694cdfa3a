//! The provider: one validated config turned into locks, verifiers, sync
//! services and namespace claims. Plain Rust; the component export is in
//! `lib.rs`.

use std::path::Path;

use swamp_datastore_sdk::lock_engine::{EngineLock, LockDir};
use swamp_datastore_sdk::sync::SyncEngine;
use swamp_datastore_sdk::{
    Error, HolderIdentity, Lock, LockOptions, Provider, ProviderFeatures, Result, SyncService,
    Verifier,
};

use crate::config::FsConfig;
use crate::namespaces;
use crate::remote::FsRemote;
use crate::verifier::FsVerifier;

/// A filesystem datastore provider.
pub struct FsProvider {
    config: FsConfig,
    datastore_type: String,
    /// Where lock holders come from: the host import inside a component,
    /// a fixed identity in native tests.
    identity: fn() -> HolderIdentity,
}

impl FsProvider {
    /// A provider for a validated config.
    pub fn new(
        config: FsConfig,
        datastore_type: &str,
        identity: fn() -> HolderIdentity,
    ) -> FsProvider {
        FsProvider {
            config,
            datastore_type: datastore_type.to_string(),
            identity,
        }
    }
}

fn is_within(p: &Path, dir: &Path) -> bool {
    p.starts_with(dir)
}

impl Provider for FsProvider {
    fn features(&self) -> ProviderFeatures {
        ProviderFeatures {
            sync: self.config.cache,
            cache_path: false,
            namespaces: true,
        }
    }

    fn create_lock(&self, datastore_path: &str, options: LockOptions) -> Result<Box<dyn Lock>> {
        let store = LockDir::new(datastore_path)?;
        Ok(Box::new(EngineLock::new(
            store,
            &options,
            (self.identity)(),
        )?))
    }

    fn create_verifier(&self) -> Result<Box<dyn Verifier>> {
        Ok(Box::new(FsVerifier::new(
            &self.config.path,
            &self.datastore_type,
        )))
    }

    fn resolve_datastore_path(&self, _repo_dir: &str) -> Result<String> {
        // Also with a cache: locks live on the share, where every machine
        // sees them.
        Ok(self.config.path.clone())
    }

    fn create_sync_service(
        &self,
        _repo_dir: &str,
        cache_path: &str,
    ) -> Result<Option<Box<dyn SyncService>>> {
        if !self.config.cache {
            return Ok(None);
        }
        if !cache_path.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "cache path {cache_path:?} must be absolute"
            )));
        }
        let cache = Path::new(cache_path);
        let share = Path::new(&self.config.path);
        if is_within(cache, share) || is_within(share, cache) {
            return Err(Error::InvalidArgument(format!(
                "cache path {cache_path} and the shared directory {} must not contain each other",
                self.config.path
            )));
        }
        Ok(Some(Box::new(SyncEngine::new(FsRemote::new(share), cache))))
    }

    fn register_namespace(
        &self,
        datastore_path: &str,
        namespace: &str,
        repo_id: &str,
    ) -> Result<()> {
        namespaces::register(datastore_path, namespace, repo_id)
    }

    fn list_namespaces(&self, datastore_path: &str) -> Result<Vec<String>> {
        namespaces::list(datastore_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use swamp_datastore_sdk::SyncOptions;

    fn who() -> HolderIdentity {
        HolderIdentity {
            user: "ann".into(),
            hostname: "box".into(),
            pid: 1,
        }
    }

    fn provider(path: &Path, cache: bool) -> FsProvider {
        let cfg = FsConfig {
            path: path.to_str().unwrap().into(),
            cache,
        };
        FsProvider::new(cfg, "@swamp-wasm/fs-datastore", who)
    }

    #[test]
    fn features_follow_the_cache_flag() {
        let d = tempfile::tempdir().unwrap();
        let p = provider(d.path(), false);
        assert!(!p.features().sync);
        assert!(p.features().namespaces);
        assert!(p.create_sync_service("/repo", "/cache").unwrap().is_none());
        assert_eq!(
            p.resolve_datastore_path("/repo").unwrap(),
            d.path().to_str().unwrap()
        );
        assert_eq!(p.resolve_cache_path("/repo").unwrap(), None);
        assert!(provider(d.path(), true).features().sync);
    }

    #[test]
    fn cache_and_share_must_be_apart() {
        let d = tempfile::tempdir().unwrap();
        let p = provider(d.path(), true);
        let inside = d.path().join("cache");
        assert!(matches!(
            p.create_sync_service("/r", inside.to_str().unwrap()),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            p.create_sync_service("/r", "rel"),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn two_caches_sync_through_the_share() {
        let share = tempfile::tempdir().unwrap();
        let c1 = tempfile::tempdir().unwrap();
        let c2 = tempfile::tempdir().unwrap();
        let p = provider(share.path(), true);
        let mut s1 = p
            .create_sync_service("/r", c1.path().to_str().unwrap())
            .unwrap()
            .unwrap();
        let mut s2 = p
            .create_sync_service("/r", c2.path().to_str().unwrap())
            .unwrap()
            .unwrap();
        let caps = s1.capabilities();
        assert!(
            caps.lazy_hydration
                && caps.scoped_sync
                && caps.namespaced_sync
                && caps.two_phase_sync
                && caps.preview_push
        );
        let o = SyncOptions::default();
        let rel = "data/aws/vpc/m1/state/1/raw";
        fs::create_dir_all(c1.path().join(rel).parent().unwrap()).unwrap();
        fs::write(c1.path().join(rel), "abc").unwrap();
        assert_eq!(s1.push_changed(&o).unwrap(), 1);
        assert_eq!(fs::read_to_string(share.path().join(rel)).unwrap(), "abc");
        assert!(share.path().join(".datastore-index.json").is_file());
        assert_eq!(s2.pull_changed(&o).unwrap(), 1);
        assert_eq!(s2.pull_changed(&o).unwrap(), 0);
        // Same-size edit, announced, then pushed and pulled back.
        let mark = SyncOptions {
            rel_path: Some(rel.into()),
            ..SyncOptions::default()
        };
        s2.mark_dirty(&mark).unwrap();
        fs::write(c2.path().join(rel), "xyz").unwrap();
        assert_eq!(s2.push_changed(&o).unwrap(), 1);
        assert_eq!(s1.pull_changed(&o).unwrap(), 1);
        assert_eq!(fs::read_to_string(c1.path().join(rel)).unwrap(), "xyz");
        // Deletion.
        s1.mark_dirty(&mark).unwrap();
        fs::remove_file(c1.path().join(rel)).unwrap();
        assert_eq!(s1.push_changed(&o).unwrap(), 1);
        assert!(!share.path().join(rel).exists());
        assert_eq!(s2.pull_changed(&o).unwrap(), 0);
        assert!(!c2.path().join(rel).exists());
    }

    #[test]
    fn a_corrupt_share_index_is_reported_not_replaced() {
        let share = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        fs::write(share.path().join(".datastore-index.json"), "garbage").unwrap();
        let p = provider(share.path(), true);
        let mut s = p
            .create_sync_service("/r", c.path().to_str().unwrap())
            .unwrap()
            .unwrap();
        match s.pull_changed(&SyncOptions::default()) {
            Err(Error::CorruptData(m)) => assert!(m.contains(".datastore-index.json")),
            Err(e) => panic!("{e:?}"),
            Ok(n) => panic!("pulled {n}"),
        }
        assert_eq!(
            fs::read_to_string(share.path().join(".datastore-index.json")).unwrap(),
            "garbage"
        );
    }
}
