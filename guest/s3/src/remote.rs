//! The bucket as the SDK sync engine's [`RemoteStore`]: keys under the
//! configured prefix, ETags as fingerprints, index writes by `If-Match` /
//! `If-None-Match` compare-and-swap.
//!
//! The engine is synchronous, so every call runs its own small event loop
//! (`block_on`). The batch calls (shard reads, downloads, uploads,
//! deletions) run one event loop per batch with up to `pullConcurrency` /
//! `pushConcurrency` requests in flight (`buffer_unordered` over wstd's
//! reactor), so a batch is never waiting on its slowest member before the
//! next request starts. File bodies are streamed: downloads go straight
//! into the destination file, uploads are read part by part (multipart
//! above the client's threshold), and uploads are scheduled by size so the
//! bodies held at once stay under [`UPLOAD_BUDGET`].

use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use futures::stream::{self, StreamExt};
use swamp_datastore_sdk::sync::{
    CasOutcome, Fingerprint, Fresh, HashingWriter, RemoteObject, RemoteStore, Sent, Transfer,
    Versioned,
};
use swamp_datastore_sdk::write_file::WriteFile;
use swamp_datastore_sdk::{Error, Result};

use crate::client::{
    Cond, Deadline, MAX_PARTS_IN_FLIGHT, MULTIPART_THRESHOLD, PART_SIZE, S3Client,
};
use crate::http::{Transport, block_on};

/// Request bodies an upload batch may hold in memory at once.
pub const UPLOAD_BUDGET: u64 = 64 * 1024 * 1024;

/// A bucket (and prefix) as a remote store.
pub struct S3Remote<T: Transport> {
    client: Rc<S3Client<T>>,
    deadline: Deadline,
}

impl<T: Transport> S3Remote<T> {
    pub fn new(client: Rc<S3Client<T>>) -> S3Remote<T> {
        S3Remote {
            client,
            deadline: Deadline::NONE,
        }
    }

    fn full(&self, key: &str) -> String {
        self.client.config().full_key(key)
    }

    fn pull_concurrency(&self) -> usize {
        self.client.config().pull_concurrency.max(1)
    }

    fn push_concurrency(&self) -> usize {
        self.client.config().push_concurrency.max(1)
    }
}

/// Memory an upload of `size` bytes holds while in flight.
fn held(size: u64) -> u64 {
    if size > MULTIPART_THRESHOLD {
        PART_SIZE * MAX_PARTS_IN_FLIGHT as u64
    } else {
        size.max(1)
    }
}

/// Uploads of this many bytes may run `budget / held` at once (at least
/// one, at most `max`): small files go wide, large ones a few at a time.
fn upload_width(size: u64, max: usize) -> usize {
    let n = (UPLOAD_BUDGET / held(size)).max(1);
    usize::try_from(n).unwrap_or(usize::MAX).min(max)
}

/// Size classes (upper bounds) an upload batch is run in, smallest first.
const CLASSES: [u64; 4] = [64 * 1024, 1024 * 1024, MULTIPART_THRESHOLD, u64::MAX];

/// GET `full` into a new file at `dest` as it arrives: what was written
/// and the answer's ETag, or `None` (no file left behind) when absent.
async fn fetch_into<T: Transport>(
    client: &S3Client<T>,
    full: &str,
    dest: &Path,
    deadline: Deadline,
) -> Result<Option<(Sent, String)>> {
    let f = WriteFile::create(dest).map_err(|e| Error::io(dest.display(), e))?;
    let mut f = HashingWriter::new(f);
    match client.get_to_file(full, &mut f, deadline).await? {
        Ok(Some(meta)) => Ok(Some((f.written(), meta.etag))),
        Ok(None) => {
            drop(f);
            let _ = std::fs::remove_file(dest);
            Ok(None)
        }
        Err(fail) => Err(fail.into_error("GetObject", &client.describe(full))),
    }
}

/// Results in item order from `(index, result)` pairs.
fn in_order<X>(n: usize, mut done: Vec<(usize, X)>) -> Vec<X> {
    done.sort_by_key(|(i, _)| *i);
    debug_assert_eq!(done.len(), n);
    done.into_iter().map(|(_, x)| x).collect()
}

/// The Content-Type of an object the engine writes from memory (the
/// index, its meta and shards, swamp's control documents): JSON when its
/// name says so. Data files are sent without one, as swamp's own S3
/// datastore sends them. Besides being true, it spares SeaweedFS a gzip of
/// every index write: without a type it sniffs `text/plain` and compresses
/// the object as it stores it, a third of the PUT of a 2 MiB monolith
/// (`make bench`, figure h's notes).
fn content_type_of(key: &str) -> Option<&'static str> {
    key.ends_with(".json").then_some("application/json")
}

impl<T: Transport> RemoteStore for S3Remote<T> {
    fn set_deadline(&mut self, end: Option<Instant>) {
        self.deadline = Deadline(end);
    }

    fn get_many(&mut self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        let (client, deadline) = (&*self.client, self.deadline);
        let fulls: Vec<String> = keys.iter().map(|k| self.full(k)).collect();
        let done = block_on(
            stream::iter(fulls.iter().enumerate())
                .map(|(i, full)| async move {
                    let r = match client.get(full, deadline).await {
                        Ok(Ok(got)) => Ok(got.map(|o| (o.body, Fingerprint(o.meta.etag)))),
                        Ok(Err(f)) => Err(f.into_error("GetObject", &client.describe(full))),
                        Err(e) => Err(e),
                    };
                    (i, r)
                })
                .buffer_unordered(self.pull_concurrency())
                .collect::<Vec<_>>(),
        );
        in_order(keys.len(), done).into_iter().collect()
    }

    fn put_file(&mut self, key: &str, path: &Path) -> Result<Sent> {
        let full = self.full(key);
        block_on(self.client.upload_file(&full, path, self.deadline))
    }

    fn get_to_file(&mut self, key: &str, dest: &Path) -> Result<Option<Sent>> {
        let t = [Transfer {
            key: key.to_string(),
            path: dest.to_path_buf(),
        }];
        self.download_many(&t).pop().unwrap_or(Ok(None))
    }

    /// Streamed into the file as it arrives; the ETag of the answer is
    /// the fingerprint of exactly those bytes.
    fn get_to_file_versioned(
        &mut self,
        key: &str,
        dest: &Path,
    ) -> Result<Option<(Sent, Fingerprint)>> {
        let full = self.full(key);
        let got = block_on(fetch_into(&self.client, &full, dest, self.deadline))?;
        Ok(got.map(|(sent, etag)| (sent, Fingerprint(etag))))
    }

    /// Read from the file for each attempt, so one copy of the body is
    /// held at a time (`put_if` takes the bytes from memory).
    fn put_file_if(
        &mut self,
        key: &str,
        path: &Path,
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let read = || std::fs::read(path).map_err(|e| Error::io(path.display(), e));
        self.put_if_with(key, &read, expected)
    }

    fn download_many(&mut self, items: &[Transfer]) -> Vec<Result<Option<Sent>>> {
        let (client, deadline) = (&*self.client, self.deadline);
        let fulls: Vec<String> = items.iter().map(|t| self.full(&t.key)).collect();
        let done = block_on(
            stream::iter(items.iter().zip(&fulls).enumerate())
                .map(|(i, (t, full))| async move {
                    let r = fetch_into(client, full, &t.path, deadline)
                        .await
                        .map(|got| got.map(|(sent, _)| sent));
                    (i, r)
                })
                .buffer_unordered(self.pull_concurrency())
                .collect::<Vec<_>>(),
        );
        in_order(items.len(), done)
    }

    fn upload_many(&mut self, items: &[Transfer]) -> Vec<Result<Sent>> {
        let (client, deadline) = (&*self.client, self.deadline);
        let max = self.push_concurrency();
        let mut sized = Vec::with_capacity(items.len());
        let mut done: Vec<(usize, Result<Sent>)> = Vec::with_capacity(items.len());
        for (i, t) in items.iter().enumerate() {
            match std::fs::metadata(&t.path) {
                Ok(m) => sized.push((i, t, self.full(&t.key), m.len())),
                Err(e) => done.push((i, Err(Error::io(t.path.display(), e)))),
            }
        }
        block_on(async {
            let mut lower = 0u64;
            for upper in CLASSES {
                let class: Vec<_> = sized
                    .iter()
                    .filter(|(_, _, _, size)| *size >= lower && *size <= upper)
                    .collect();
                lower = upper.saturating_add(1);
                if class.is_empty() {
                    continue;
                }
                let width = upload_width(upper.min(MULTIPART_THRESHOLD + 1), max);
                let mut results = stream::iter(class)
                    .map(|(i, t, full, size)| async move {
                        (
                            *i,
                            client
                                .upload_file_of_size(full, &t.path, *size, deadline)
                                .await,
                        )
                    })
                    .buffer_unordered(width)
                    .collect::<Vec<_>>()
                    .await;
                done.append(&mut results);
            }
        });
        in_order(items.len(), done)
    }

    fn delete_many(&mut self, keys: &[String]) -> Vec<Result<()>> {
        let (client, deadline) = (&*self.client, self.deadline);
        let fulls: Vec<String> = keys.iter().map(|k| self.full(k)).collect();
        let done = block_on(
            stream::iter(fulls.iter().enumerate())
                .map(|(i, full)| async move {
                    let r = match client.delete(full, &Cond::None, deadline).await {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(f)) => Err(f.into_error("DeleteObject", &client.describe(full))),
                        Err(e) => Err(e),
                    };
                    (i, r)
                })
                .buffer_unordered(self.push_concurrency())
                .collect::<Vec<_>>(),
        );
        in_order(keys.len(), done)
    }

    fn describe(&self, key: &str) -> String {
        self.client.describe(&self.full(key))
    }

    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_versioned(key)?.map(|(b, _)| b))
    }

    fn put(&mut self, key: &str, bytes: &[u8]) -> Result<()> {
        let full = self.full(key);
        let typed = content_type_of(key);
        block_on(self.client.upload_bytes(&full, bytes, typed, self.deadline)).map(|_| ())
    }

    fn delete(&mut self, key: &str) -> Result<()> {
        let full = self.full(key);
        block_on(self.client.delete(&full, &Cond::None, self.deadline))?
            .map_err(|f| f.into_error("DeleteObject", &self.client.describe(&full)))
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<RemoteObject>> {
        let base = self.full("");
        let full = format!("{base}{prefix}");
        let listed = block_on(self.client.list(&full, self.deadline))?
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
        let got = block_on(self.client.get(&full, self.deadline))?
            .map_err(|f| f.into_error("GetObject", &self.client.describe(&full)))?;
        Ok(got.map(|o| (o.body, Fingerprint(o.meta.etag))))
    }

    /// One conditional GET: a 304 sends no body.
    fn get_if_changed(&mut self, key: &str, known: &Fingerprint) -> Result<Fresh> {
        let full = self.full(key);
        let got = block_on(self.client.get_unless(&full, &known.0, self.deadline))?
            .map_err(|f| f.into_error("GetObject", &self.client.describe(&full)))?;
        Ok(match got {
            None => Fresh::Unchanged,
            Some(o) => Fresh::Now(o.map(|o| (o.body, Fingerprint(o.meta.etag)))),
        })
    }

    fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        let full = self.full(key);
        let got = block_on(self.client.head(&full, self.deadline))?
            .map_err(|f| f.into_error("HeadObject", &self.client.describe(&full)))?;
        Ok(got.map(|m| Fingerprint(m.etag)))
    }

    fn put_if(
        &mut self,
        key: &str,
        bytes: &[u8],
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        self.put_if_with(key, &|| Ok(bytes.to_vec()), expected)
    }
}

impl<T: Transport> S3Remote<T> {
    /// A compare-and-swap PUT of the body `body` makes (once per attempt).
    fn put_if_with(
        &mut self,
        key: &str,
        body: &dyn Fn() -> Result<Vec<u8>>,
        expected: Option<&Fingerprint>,
    ) -> Result<CasOutcome> {
        let full = self.full(key);
        let cond = match expected {
            None => Cond::Absent,
            Some(f) => Cond::Etag(f.0.clone()),
        };
        for _ in 0..3 {
            let put =
                self.client
                    .put_as(&full, body()?, &cond, content_type_of(key), self.deadline);
            match block_on(put)? {
                Ok(meta) => return Ok(CasOutcome::Written(Fingerprint(meta.etag))),
                Err(f)
                    if f.is_precondition() || (f.status() == Some(404) && expected.is_some()) =>
                {
                    return Ok(CasOutcome::Conflict);
                }
                Err(f) if f.is_ambiguous() => {
                    // The write may have landed: compare what is there now.
                    match self.get_versioned(key)? {
                        Some((now, fp)) if now == body()? => return Ok(CasOutcome::Written(fp)),
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
        Err(Error::Unavailable(format!(
            "S3 PutObject (compare-and-swap) {} got no answer three times",
            self.client.describe(&full)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_widths_keep_bodies_in_budget() {
        let mib = 1024 * 1024;
        assert_eq!(upload_width(64 * 1024, 25), 25);
        assert_eq!(upload_width(64 * 1024, 1000), 1000);
        assert_eq!(upload_width(mib, 1000), 64);
        assert_eq!(upload_width(MULTIPART_THRESHOLD, 25), 4);
        assert_eq!(upload_width(MULTIPART_THRESHOLD + 1, 25), 2);
        assert_eq!(upload_width(u64::MAX, 25), 2);
        assert_eq!(upload_width(mib, 1), 1);
        // Whatever the class, the bodies in flight stay within the budget.
        for upper in CLASSES {
            let size = upper.min(MULTIPART_THRESHOLD + 1);
            assert!(upload_width(size, 1000) as u64 * held(size) <= UPLOAD_BUDGET);
        }
    }

    #[test]
    fn results_come_back_in_item_order() {
        assert_eq!(
            in_order(3, vec![(2, 'c'), (0, 'a'), (1, 'b')]),
            vec!['a', 'b', 'c']
        );
    }
}
