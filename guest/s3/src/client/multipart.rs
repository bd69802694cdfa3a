//! Uploads: one PUT up to [`MULTIPART_THRESHOLD`], else a multipart
//! upload in [`PART_SIZE`] parts (aborted when it fails); from a file,
//! hashed as it is read, or from bytes in memory.

use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use futures::stream::{self, StreamExt, TryStreamExt};
use swamp_datastore_sdk::sync::{ContentHash, Sent};
use swamp_datastore_sdk::{Error, Result};

use super::ops::{ObjectMeta, content_type_header};
use super::sign::Call;
use super::{Cond, Deadline, S3Client};
use crate::http::Transport;
use crate::xml;

/// Objects larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Size of each part (S3's minimum is 5 MiB for all but the last).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// Parts in flight at once, whatever pushConcurrency says (memory bound:
/// at most this many parts are held at a time). Each part in flight is in
/// guest memory twice (the call's body, kept for retries, and the signed
/// request's copy), so 3 parts hold 48 MiB: with the rest of the guest a
/// 1 GiB push peaks at about 49 MiB of linear memory (`make bench`, figure
/// g; 4 parts peaked at 65 MiB, over the 64 MiB target).
pub const MAX_PARTS_IN_FLIGHT: usize = 3;

impl<T: Transport> S3Client<T> {
    /// Upload `size` bytes produced by `part(offset, len)` to `key`: one PUT
    /// up to [`MULTIPART_THRESHOLD`], else a multipart upload with at most
    /// [`MAX_PARTS_IN_FLIGHT`] parts (each [`PART_SIZE`]) held and sent at
    /// once. A failed multipart upload is aborted.
    pub async fn upload<F>(
        &self,
        key: &str,
        size: u64,
        part: F,
        content_type: Option<&str>,
        deadline: Deadline,
    ) -> Result<ObjectMeta>
    where
        F: Fn(u64, u64) -> Result<Vec<u8>>,
    {
        let target = self.describe(key);
        if size <= MULTIPART_THRESHOLD {
            let body = part(0, size)?;
            return self
                .put_as(key, body, &Cond::None, content_type, deadline)
                .await?
                .map_err(|f| f.into_error("PutObject", &target));
        }
        let call = Call {
            method: "POST",
            key: Some(key),
            query: vec![("uploads".into(), String::new())],
            headers: content_type_header(content_type).into_iter().collect(),
            body: bytes::Bytes::new(),
            retry: true,
        };
        let r = self
            .execute(call, deadline, None)
            .await?
            .map_err(|f| f.into_error("CreateMultipartUpload", &target))?;
        let init: xml::InitiateMultipartUploadResult = xml::parse(&r.body)
            .map_err(|m| Error::CorruptData(format!("S3 CreateMultipartUpload {target}: {m}")))?;
        let upload_id = init.upload_id;
        let parts = size.div_ceil(PART_SIZE);
        let concurrency = self.cfg.push_concurrency.clamp(1, MAX_PARTS_IN_FLIGHT);
        let part = &part;
        let upload_id_ref = &upload_id;
        let target_ref = &target;
        let result: Result<Vec<xml::CompletedPart>> = stream::iter(0..parts)
            .map(|i| async move {
                let offset = i * PART_SIZE;
                let len = PART_SIZE.min(size - offset);
                let body = part(offset, len)?;
                let number = (i + 1) as u32;
                let call = Call {
                    method: "PUT",
                    key: Some(key),
                    query: vec![
                        ("partNumber".into(), number.to_string()),
                        ("uploadId".into(), upload_id_ref.clone()),
                    ],
                    headers: vec![],
                    body: body.into(),
                    retry: true,
                };
                let r = self
                    .execute(call, deadline, None)
                    .await?
                    .map_err(|f| f.into_error("UploadPart", target_ref))?;
                Ok(xml::CompletedPart {
                    part_number: number,
                    etag: r.header("etag").unwrap_or_default().to_string(),
                })
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await;
        let mut done = match result {
            Ok(d) => d,
            Err(e) => {
                self.abort_upload(key, &upload_id).await;
                return Err(e);
            }
        };
        done.sort_by_key(|p| p.part_number);
        let call = Call {
            method: "POST",
            key: Some(key),
            query: vec![("uploadId".into(), upload_id.clone())],
            headers: vec![("content-type".into(), "application/xml".into())],
            body: xml::complete_body(done).into(),
            retry: true,
        };
        let r = match self.execute(call, deadline, None).await? {
            Ok(r) => r,
            Err(f) => {
                self.abort_upload(key, &upload_id).await;
                return Err(f.into_error("CompleteMultipartUpload", &target));
            }
        };
        // A 200 may still carry an error document.
        if let Ok(doc) = xml::parse::<xml::ErrorDoc>(&r.body)
            && !doc.code.is_empty()
        {
            self.abort_upload(key, &upload_id).await;
            return Err(Error::Unavailable(format!(
                "S3 CompleteMultipartUpload {target} failed: {} — {} requestId={}",
                doc.code, doc.message, doc.request_id
            )));
        }
        let done: xml::CompleteMultipartUploadResult = xml::parse(&r.body).unwrap_or_default();
        Ok(ObjectMeta {
            etag: done.etag,
            size,
            last_modified: None,
            server_date: None,
        })
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) {
        let call = Call {
            method: "DELETE",
            key: Some(key),
            query: vec![("uploadId".into(), upload_id.to_string())],
            headers: vec![],
            body: bytes::Bytes::new(),
            retry: true,
        };
        // Best effort: a bucket lifecycle rule cleans up what this misses.
        let _ = self.execute(call, Deadline::NONE, None).await;
    }

    /// Upload a local file, streaming it part by part; what was sent.
    pub async fn upload_file(&self, key: &str, path: &Path, deadline: Deadline) -> Result<Sent> {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        self.upload_file_of_size(key, path, size, deadline).await
    }

    /// [`S3Client::upload_file`] for a file whose size the caller has just
    /// read (one file call fewer per upload).
    pub async fn upload_file_of_size(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        deadline: Deadline,
    ) -> Result<Sent> {
        // The parts are read in order (each part's request reads its bytes
        // before its first await, and they start in order), so the hash of
        // the whole file builds up as they are read. Should a part ever be
        // read out of order or twice, the file is hashed again afterwards.
        let hashed = RefCell::new((ContentHash::default(), true));
        let read_part = |offset: u64, len: u64| -> Result<Vec<u8>> {
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
            if offset > 0 {
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(path.display(), e))?;
            }
            let mut buf = vec![0u8; len as usize];
            f.read_exact(&mut buf)
                .map_err(|e| Error::io(path.display(), e))?;
            let (hash, in_order) = &mut *hashed.borrow_mut();
            if *in_order && offset == hash.len() {
                hash.update(&buf);
            } else {
                *in_order = false;
            }
            Ok(buf)
        };
        self.upload(key, size, read_part, None, deadline).await?;
        match hashed.into_inner() {
            (hash, true) if hash.len() == size => Ok(hash.finish()),
            _ => {
                let (sha256, size) = swamp_datastore_sdk::sync::local::hash_file(path)?;
                Ok(Sent { sha256, size })
            }
        }
    }

    /// Upload bytes already in memory (parts are slices of them), with
    /// their Content-Type when known.
    pub async fn upload_bytes(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: Option<&str>,
        deadline: Deadline,
    ) -> Result<ObjectMeta> {
        let slice = |offset: u64, len: u64| -> Result<Vec<u8>> {
            Ok(bytes[offset as usize..(offset + len) as usize].to_vec())
        };
        self.upload(key, bytes.len() as u64, slice, content_type, deadline)
            .await
    }
}
