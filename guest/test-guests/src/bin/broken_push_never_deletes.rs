//! Test-only guest, broken on purpose: push never deletes remote files (nor their index entries); its store deletes nothing at all.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

use test_guests::fs_datastore_core::remote::FsRemote;
use test_guests::sdk::sync::index::Index;
use test_guests::sdk::sync::{CasOutcome, Fingerprint, RemoteObject, RemoteStore, SyncEngine};

/// The share, except that deletions never happen: objects stay, and index
/// writes keep every entry the index had.
struct KeepAll(FsRemote);

impl RemoteStore for KeepAll {
    fn describe(&self, key: &str) -> String {
        self.0.describe(key)
    }
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        self.0.put(key, bytes)
    }
    fn delete(&mut self, _key: &str) -> Result<()> {
        Ok(())
    }
    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>> {
        self.0.list(prefix)
    }
    fn get_versioned(&mut self, key: &str) -> Result<Option<(Vec<u8>, Fingerprint)>> {
        self.0.get_versioned(key)
    }
    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        self.0.fingerprint(key)
    }
    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let old = match self.0.get(key)? {
            Some(old) if key.ends_with(INDEX_FILE) => old,
            _ => return self.0.put_if(key, bytes, expected),
        };
        let (mut new, _) = Index::parse(bytes, key)?;
        let (old, _) = Index::parse(&old, key)?;
        for (rel, e) in old.entries {
            new.entries.entry(rel).or_insert(e);
        }
        self.0.put_if(key, &new.to_compact(), expected)
    }
}

struct B;

impl Break for B {
    fn create_sync_service(
        p: &ProviderCx,
        _repo: &str,
        cache: &str,
    ) -> Result<Option<Box<dyn test_guests::sdk::SyncService>>> {
        if !p.config.cache {
            return Ok(None);
        }
        let remote = KeepAll(FsRemote::new(&p.config.path));
        Ok(Some(Box::new(SyncEngine::new(remote, cache))))
    }
}

export_broken!(B);
