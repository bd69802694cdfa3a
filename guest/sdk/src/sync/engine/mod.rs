//! The engine: roots (solo or one namespace), deadlines, reading and
//! merging the remote index, and the [`SyncService`] face. Push and pull
//! live in their own files.

mod commit;
mod monolith_file;
mod plan;
mod plan_walk;
mod pull;
mod pull_parts;
mod push;
mod remote_index;
mod shared;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_monolith;
#[cfg(test)]
mod tests_parts;
#[cfg(test)]
mod tests_shards;
#[cfg(test)]
mod tests_shared;
mod transfer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::namespace;
use crate::nonce;
use crate::rel_path::RelPath;
use crate::sync::remote::RemoteStore;
use crate::sync::rules::{INDEX_FILE, SIDECAR_FILE};
use crate::sync::state::StateFiles;
use crate::traits::SyncService;
use swamp_datastore_types::{PushManifest, PushPreview, SyncCapabilities, SyncOptions};

/// How often an index write may lose a compare-and-swap before push gives
/// up with `conflict` (each loss means another writer committed meanwhile).
const MAX_CAS_ATTEMPTS: u32 = 8;

/// Wait a little, with jitter, before re-reading after a lost CAS.
fn backoff(attempt: u32) {
    let ms = 5 * u64::from(attempt + 1) + nonce::random_below(10);
    std::thread::sleep(Duration::from_millis(ms));
}

/// A sync between the cache directory `cache` and a remote store.
pub struct SyncEngine<R: RemoteStore> {
    remote: R,
    cache: PathBuf,
    /// The monolith this engine last committed, kept for its next read
    /// (`remote_index.rs`, [`remote_index::KnownMonolith`]).
    known_monolith: Option<remote_index::KnownMonolith>,
    /// The head of `_meta.json` as last read, for the next zero-diff pull
    /// ([`remote_index::KnownMeta`]).
    known_meta: Option<remote_index::KnownMeta>,
}

/// One sync root: the solo tree or one namespace's subtree, on both sides.
#[derive(Debug, Clone)]
struct Root {
    ns: Option<String>,
    local: PathBuf,
    prefix: String,
    files: StateFiles,
}

impl Root {
    fn remote_key(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }
    fn index_key(&self) -> String {
        self.remote_key(INDEX_FILE)
    }
    fn local_path(&self, rel: &str) -> PathBuf {
        let mut p = self.local.clone();
        for s in rel.split('/') {
            p.push(s);
        }
        p
    }
    /// In the solo tree, a top-level directory that is some namespace's root
    /// belongs to that namespace and is never walked.
    fn skip_dir(&self, rel: &str, path: &Path) -> bool {
        self.ns.is_none()
            && !rel.contains('/')
            && [namespace::MANIFEST, SIDECAR_FILE, INDEX_FILE]
                .iter()
                .any(|f| path.join(f).exists())
    }
}

/// The time a call may take.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    end: Option<Instant>,
    ms: u64,
    what: &'static str,
}

impl Deadline {
    fn new(options: &SyncOptions, what: &'static str) -> Deadline {
        let ms = options.timeout_ms.unwrap_or(0);
        Deadline {
            end: options
                .timeout_ms
                .map(|t| Instant::now() + Duration::from_millis(t)),
            ms,
            what,
        }
    }
    fn check(&self) -> Result<()> {
        match self.end {
            Some(end) if Instant::now() >= end => Err(Error::Aborted(format!(
                "{} ran out of its {} ms; the work done so far is kept and the next call resumes it",
                self.what, self.ms
            ))),
            _ => Ok(()),
        }
    }
}

impl<R: RemoteStore> SyncEngine<R> {
    /// An engine between the cache at `cache` and `remote`. Does no I/O.
    pub fn new(remote: R, cache: impl Into<PathBuf>) -> SyncEngine<R> {
        SyncEngine {
            remote,
            cache: cache.into(),
            known_monolith: None,
            known_meta: None,
        }
    }

    /// Start a call: its deadline, which every remote request honours too.
    fn begin(&mut self, options: &SyncOptions, what: &'static str) -> Deadline {
        let dl = Deadline::new(options, what);
        self.remote.set_deadline(dl.end);
        dl
    }

    /// The remote store.
    pub fn remote(&self) -> &R {
        &self.remote
    }

    /// Everything the engine supports, and it is all real.
    pub fn capabilities() -> SyncCapabilities {
        SyncCapabilities {
            scoped_sync: true,
            lazy_hydration: true,
            namespaced_sync: true,
            two_phase_sync: true,
            preview_push: true,
        }
    }

    fn root(&self, ns: Option<&str>) -> Result<Root> {
        match ns.filter(|n| !n.is_empty()) {
            None => Ok(Root {
                ns: None,
                local: self.cache.clone(),
                prefix: String::new(),
                files: StateFiles::at(&self.cache),
            }),
            Some(n) => {
                namespace::validate(n)?;
                let local = self.cache.join(n);
                Ok(Root {
                    ns: Some(n.to_string()),
                    files: StateFiles::at(&local),
                    local,
                    prefix: format!("{n}/"),
                })
            }
        }
    }

    /// Resolve a cache-relative path given with `options` into its root and
    /// its bare rel. swamp passes namespaced paths with the namespace as the
    /// first segment; those are stripped once (the original strips none and
    /// prefixes twice: docs/contract.md §10.6).
    /// `None` as the rel means the whole root.
    fn locate(&self, rel: &str, ns: Option<&str>, what: &str) -> Result<(Root, Option<RelPath>)> {
        let p = RelPath::parse(rel, what)?;
        if let Some(n) = ns.filter(|n| !n.is_empty()) {
            let root = self.root(Some(n))?;
            if p.as_str() == n {
                return Ok((root, None));
            }
            if let Some(bare) = p.as_str().strip_prefix(&format!("{n}/")) {
                return Ok((root, Some(RelPath::parse(bare, what)?)));
            }
            // A path outside the namespace belongs to the solo tree.
        }
        Ok((self.root(None)?, Some(p)))
    }
}

impl<R: RemoteStore + 'static> SyncService for SyncEngine<R> {
    fn pull_changed(&mut self, options: &SyncOptions) -> Result<u32> {
        self.pull(options)
    }
    fn push_changed(&mut self, options: &SyncOptions) -> Result<u32> {
        self.push(options)
    }
    fn mark_dirty(&mut self, options: &SyncOptions) -> Result<()> {
        self.mark(options)
    }
    fn capabilities(&self) -> SyncCapabilities {
        Self::capabilities()
    }
    fn hydrate_file(&mut self, rel_path: &str, options: &SyncOptions) -> Result<bool> {
        self.hydrate(rel_path, options)
    }
    fn prepare_push(&mut self, options: &SyncOptions) -> Result<PushManifest> {
        self.prepare(options)
    }
    fn commit_push(&mut self, manifest: PushManifest, options: &SyncOptions) -> Result<u32> {
        self.commit_manifest(&manifest, options)
    }
    fn preview_push(&mut self, options: &SyncOptions) -> Result<PushPreview> {
        self.preview(options)
    }
    fn shared_store(&mut self) -> Option<&mut dyn crate::traits::SharedStore> {
        Some(self)
    }
}
