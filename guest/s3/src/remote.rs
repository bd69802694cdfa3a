//! The bucket as the SDK sync engine's [`RemoteStore`]: keys under the
//! configured prefix, ETags as fingerprints, index writes by `If-Match` /
//! `If-None-Match` compare-and-swap.
//!
//! The engine is synchronous, so every call runs its own small event loop
//! (`block_on`): requests inside one call (multipart parts, list pages) run
//! concurrently, but the engine issues its calls one after another.

use std::rc::Rc;

use swamp_datastore_sdk::Result;
use swamp_datastore_sdk::sync::{CasOutcome, Fingerprint, RemoteObject, RemoteStore};

use crate::client::{Cond, Deadline, S3Client};
use crate::http::{Transport, block_on};

/// A bucket (and prefix) as a remote store.
pub struct S3Remote<T: Transport> {
    client: Rc<S3Client<T>>,
}

impl<T: Transport> S3Remote<T> {
    pub fn new(client: Rc<S3Client<T>>) -> S3Remote<T> {
        S3Remote { client }
    }

    fn full(&self, key: &str) -> String {
        self.client.config().full_key(key)
    }
}

impl<T: Transport> RemoteStore for S3Remote<T> {
    fn describe(&self, key: &str) -> String {
        self.client.describe(&self.full(key))
    }

    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_versioned(key)?.map(|(b, _)| b))
    }

    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        let full = self.full(key);
        block_on(self.client.upload_bytes(&full, bytes, Deadline::NONE)).map(|_| ())
    }

    fn delete(&mut self, key: &str) -> Result<()> {
        let full = self.full(key);
        block_on(self.client.delete(&full, &Cond::None, Deadline::NONE))?
            .map_err(|f| f.into_error("DeleteObject", &self.client.describe(&full)))
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>> {
        let base = self.full("");
        let full = format!("{base}{prefix}");
        let listed = block_on(self.client.list(&full, Deadline::NONE))?
            .map_err(|f| f.into_error("ListObjectsV2", &self.client.describe(&full)))?;
        Ok(listed
            .into_iter()
            .filter_map(|o| {
                o.key.strip_prefix(&base).map(|k| RemoteObject {
                    key: k.to_string(),
                    size: o.size,
                    last_modified: o.last_modified.clone(),
                    sha256: None,
                })
            })
            .collect())
    }

    fn get_versioned(&mut self, key: &str) -> Result<Option<(Vec<u8>, Fingerprint)>> {
        let full = self.full(key);
        let got = block_on(self.client.get(&full, Deadline::NONE))?
            .map_err(|f| f.into_error("GetObject", &self.client.describe(&full)))?;
        Ok(got.map(|o| (o.body, Fingerprint(o.meta.etag))))
    }

    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        let full = self.full(key);
        let got = block_on(self.client.head(&full, Deadline::NONE))?
            .map_err(|f| f.into_error("HeadObject", &self.client.describe(&full)))?;
        Ok(got.map(|m| Fingerprint(m.etag)))
    }

    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let full = self.full(key);
        let cond = match expected {
            None => Cond::Absent,
            Some(f) => Cond::Etag(f.0.clone()),
        };
        for _ in 0..3 {
            match block_on(
                self.client
                    .put(&full, bytes.to_vec(), &cond, Deadline::NONE),
            )? {
                Ok(meta) => return Ok(CasOutcome::Written(Fingerprint(meta.etag))),
                Err(f)
                    if f.is_precondition() || (f.status() == Some(404) && expected.is_some()) =>
                {
                    return Ok(CasOutcome::Conflict);
                }
                Err(f) if f.is_ambiguous() => {
                    // The write may have landed: compare what is there now.
                    match self.get_versioned(key)? {
                        Some((now, fp)) if now == bytes => return Ok(CasOutcome::Written(fp)),
                        Some((_, fp)) if expected == Some(&fp) => continue,
                        None if expected.is_none() => continue,
                        _ => return Ok(CasOutcome::Conflict),
                    }
                }
                Err(f) => {
                    return Err(
                        f.into_error("PutObject (compare-and-swap)", &self.client.describe(&full))
                    );
                }
            }
        }
        Err(swamp_datastore_sdk::Error::Unavailable(format!(
            "S3 PutObject (compare-and-swap) {} got no answer three times",
            self.client.describe(&full)
        )))
    }
}
