//! An in-memory [`RemoteStore`] for unit tests only: a shared map with a
//! version counter per object and counters of every call, so tests can
//! prove what a sync did *not* touch.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::error::Result;
use crate::sync::local::sha256_hex;
use crate::sync::remote::{
    CasOutcome, Fingerprint, Fresh, RemoteObject, RemoteStore, Sent, Transfer, Versioned,
};

#[derive(Debug, Default)]
pub struct Inner {
    pub objects: BTreeMap<String, (Vec<u8>, u64)>,
    pub version: u64,
    pub gets: usize,
    pub puts: usize,
    pub deletes: usize,
    pub lists: usize,
    pub heads: usize,
    /// Conditional reads (counted in `gets` too) that found the object
    /// unchanged and sent no body.
    pub unchanged: usize,
    /// Keys written, in order.
    pub put_keys: Vec<String>,
    /// Make the next N conditional writes fail as if another writer won.
    pub fail_cas: usize,
    /// Another writer's objects, landing right before the next conditional
    /// write (so that write's compare-and-swap sees a changed store).
    pub inject: Vec<(String, Vec<u8>)>,
    /// Batch calls made, as (kind, items).
    pub batches: Vec<(&'static str, usize)>,
}

/// Clones share one store (two caches, one remote).
#[derive(Debug, Clone, Default)]
pub struct MemoryRemote(pub Rc<RefCell<Inner>>);

impl MemoryRemote {
    pub fn text(&self, key: &str) -> Option<String> {
        self.0
            .borrow()
            .objects
            .get(key)
            .map(|(b, _)| String::from_utf8_lossy(b).into_owned())
    }
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().objects.keys().cloned().collect()
    }
    /// Requests of each kind since the last reset: (gets, puts, heads,
    /// lists, deletes).
    pub fn counts(&self) -> (usize, usize, usize, usize, usize) {
        let i = self.0.borrow();
        (i.gets, i.puts, i.heads, i.lists, i.deletes)
    }
    pub fn json(&self, key: &str) -> serde_json::Value {
        serde_json::from_str(&self.text(key).unwrap_or_else(|| panic!("no {key}"))).unwrap()
    }
    pub fn reset_counters(&self) {
        let mut i = self.0.borrow_mut();
        i.gets = 0;
        i.puts = 0;
        i.deletes = 0;
        i.lists = 0;
        i.heads = 0;
        i.unchanged = 0;
        i.put_keys.clear();
        i.batches.clear();
    }
    pub fn raw_put(&self, key: &str, bytes: &[u8]) {
        let mut i = self.0.borrow_mut();
        i.version += 1;
        let v = i.version;
        i.objects.insert(key.to_string(), (bytes.to_vec(), v));
    }
}

impl RemoteStore for MemoryRemote {
    fn describe(&self, key: &str) -> String {
        format!("mem://{key}")
    }
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut i = self.0.borrow_mut();
        i.gets += 1;
        Ok(i.objects.get(key).map(|(b, _)| b.clone()))
    }
    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        self.0.borrow_mut().puts += 1;
        self.0.borrow_mut().put_keys.push(key.to_string());
        self.raw_put(key, bytes);
        Ok(())
    }
    fn delete(&mut self, key: &str) -> Result<()> {
        let mut i = self.0.borrow_mut();
        i.deletes += 1;
        i.objects.remove(key);
        Ok(())
    }
    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>> {
        let mut i = self.0.borrow_mut();
        i.lists += 1;
        Ok(i.objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, (b, _))| RemoteObject {
                key: k.clone(),
                size: b.len() as u64,
                last_modified: "2026-01-01T00:00:00.000Z".into(),
                sha256: Some(sha256_hex(b)),
            })
            .collect())
    }
    fn get_versioned(&mut self, key: &str) -> Result<Option<(Vec<u8>, Fingerprint)>> {
        let mut i = self.0.borrow_mut();
        i.gets += 1;
        Ok(i.objects
            .get(key)
            .map(|(b, v)| (b.clone(), Fingerprint(v.to_string()))))
    }
    /// One request, as S3's GET with `If-None-Match`.
    fn get_if_changed(&mut self, key: &str, known: &Fingerprint) -> Result<Fresh> {
        let mut i = self.0.borrow_mut();
        i.gets += 1;
        let now = i
            .objects
            .get(key)
            .map(|(b, v)| (b.clone(), Fingerprint(v.to_string())));
        Ok(match now {
            Some((_, fp)) if &fp == known => {
                i.unchanged += 1;
                Fresh::Unchanged
            }
            now => Fresh::Now(now),
        })
    }
    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        let mut i = self.0.borrow_mut();
        i.heads += 1;
        Ok(i.objects.get(key).map(|(_, v)| Fingerprint(v.to_string())))
    }
    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let injected = std::mem::take(&mut self.0.borrow_mut().inject);
        for (k, b) in injected {
            self.raw_put(&k, &b);
        }
        {
            let mut i = self.0.borrow_mut();
            if i.fail_cas > 0 {
                i.fail_cas -= 1;
                return Ok(CasOutcome::Conflict);
            }
            let current = i.objects.get(key).map(|(_, v)| Fingerprint(v.to_string()));
            if current.as_ref() != expected {
                return Ok(CasOutcome::Conflict);
            }
        }
        self.put(key, bytes)?;
        let v = self.0.borrow().version;
        Ok(CasOutcome::Written(Fingerprint(v.to_string())))
    }

    fn get_many(&mut self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        self.0.borrow_mut().batches.push(("get", keys.len()));
        keys.iter().map(|k| self.get_versioned(k)).collect()
    }
    fn upload_many(&mut self, items: &[Transfer]) -> Vec<Result<Sent>> {
        self.0.borrow_mut().batches.push(("upload", items.len()));
        items
            .iter()
            .map(|t| self.put_file(&t.key, &t.path))
            .collect()
    }
    fn download_many(&mut self, items: &[Transfer]) -> Vec<Result<Option<Sent>>> {
        self.0.borrow_mut().batches.push(("download", items.len()));
        items
            .iter()
            .map(|t| self.get_to_file(&t.key, &t.path))
            .collect()
    }
    fn delete_many(&mut self, keys: &[String]) -> Vec<Result<()>> {
        self.0.borrow_mut().batches.push(("delete", keys.len()));
        keys.iter().map(|k| self.delete(k)).collect()
    }
}
