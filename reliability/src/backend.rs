//! The two backends every scenario runs on: a directory (fs-datastore) and a
//! SeaweedFS bucket (s3-datastore), with the configs the components take and
//! a way to read the remote store directly, bypassing the component, so the
//! checks see what really is stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use seaweedfs_fixture::SeaweedFs;
use serde_json::{Value, json};

/// Which datastore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Fs,
    S3,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Fs => "fs",
            Backend::S3 => "s3",
        }
    }

    /// The guest crate of this backend.
    pub fn guest_crate(self) -> &'static str {
        match self {
            Backend::Fs => "fs-datastore",
            Backend::S3 => "s3-datastore",
        }
    }
}

enum Store {
    /// The share directory.
    Fs(PathBuf),
    S3 {
        server: Arc<SeaweedFs>,
        bucket: String,
        prefix: String,
    },
}

/// One remote store, fresh for a scenario, plus a scratch directory.
pub struct Remote {
    store: Store,
    scratch: tempfile::TempDir,
}

impl Remote {
    /// A fresh share directory.
    pub fn fs() -> Result<Remote> {
        let scratch = tempfile::Builder::new()
            .prefix("reliability-fs-")
            .tempdir()?;
        let share = scratch.path().join("share");
        std::fs::create_dir(&share)?;
        Ok(Remote {
            store: Store::Fs(share),
            scratch,
        })
    }

    /// `bucket` (created when missing) under `prefix` on `server`.
    pub fn s3(server: Arc<SeaweedFs>, bucket: &str, prefix: &str) -> Result<Remote> {
        // Creating an existing bucket answers 409: several scenarios share
        // one bucket under different prefixes.
        if let Err(e) = server.create_bucket(bucket)
            && !e.contains("HTTP 409")
        {
            return Err(anyhow!(e));
        }
        let scratch = tempfile::Builder::new()
            .prefix("reliability-s3-")
            .tempdir()?;
        Ok(Remote {
            store: Store::S3 {
                server,
                bucket: bucket.into(),
                prefix: prefix.into(),
            },
            scratch,
        })
    }

    pub fn backend(&self) -> Backend {
        match self.store {
            Store::Fs(_) => Backend::Fs,
            Store::S3 { .. } => Backend::S3,
        }
    }

    /// A private scratch directory (caches, counters, compile cache).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// The provider config; `cache` selects fs-datastore's cache mode (the
    /// s3 datastore always syncs).
    pub fn config(&self, cache: bool) -> Value {
        match &self.store {
            Store::Fs(share) if cache => json!({"path": share, "cache": true}),
            Store::Fs(share) => json!({"path": share}),
            Store::S3 {
                server,
                bucket,
                prefix,
            } => {
                let mut config = server.datastore_config(bucket, prefix);
                config["requestTimeoutMs"] = json!(10000);
                config
            }
        }
    }

    /// The datastore path handed to `create_lock`: the share for fs; for
    /// S3 a local repository directory (locks live in the bucket).
    pub fn datastore_path(&self) -> Result<String> {
        let p = match &self.store {
            Store::Fs(share) => share.clone(),
            Store::S3 { .. } => {
                let repo = self.scratch().join("repo");
                std::fs::create_dir_all(&repo)?;
                repo
            }
        };
        p.to_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("non-UTF-8 path {}", p.display()))
    }

    /// The bytes stored at `key` (a rel under the share or the prefix),
    /// read directly; `None` when absent.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match &self.store {
            Store::Fs(share) => match std::fs::read(share.join(key)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("reading {key} in the share")),
            },
            Store::S3 {
                server,
                bucket,
                prefix,
            } => server
                .get_object(bucket, &format!("{prefix}/{key}"))
                .map_err(|e| anyhow!(e)),
        }
    }

    /// The share directory (fs only).
    pub fn share(&self) -> Option<&Path> {
        match &self.store {
            Store::Fs(p) => Some(p),
            Store::S3 { .. } => None,
        }
    }

    /// The component of this backend (built on demand).
    pub fn wasm(&self) -> Result<PathBuf> {
        host_harness::bundled::guest(self.backend().guest_crate()).map_err(|e| anyhow!(e))
    }
}
