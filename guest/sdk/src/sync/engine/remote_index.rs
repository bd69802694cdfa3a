//! Reading the remote index in whichever layout `_meta.json` says is
//! authoritative (docs/contract.md §5.4), and discovery of a bucket without
//! one (§6.1). Writes live in `commit.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::monolith_file::{MonolithFile, STREAM_ABOVE, WORK_DIR};
use super::{Root, SyncEngine};
use crate::error::{Error, Result};
use crate::namespace;
use crate::rel_path::RelPath;
use crate::sync::index::{Index, IndexEntry};
use crate::sync::remote::{CasOutcome, Fingerprint, Fresh, RemoteStore};
use crate::sync::rules::{self, INDEX_FILE};
use crate::sync::shards::{self, Meta, MetaHead, Shard};
use crate::sync::state::Synced;

/// `_meta.json` as read: the parsed meta and the fingerprint of those bytes.
pub(super) type MetaRead = Option<(Meta, Fingerprint)>;

/// A shard as read: its content and fingerprint (`None`: absent).
pub(super) type ShardRead = (Shard, Option<Fingerprint>);

/// Which layout the remote index is in, as read.
#[derive(Debug)]
pub(super) enum Layout {
    /// Meta absent or v1: the monolith is authoritative.
    Monolith {
        /// Fingerprint of the monolith read (`None`: absent).
        fp: Option<Fingerprint>,
        /// The (v1 or absent) meta this layout was decided on.
        meta: MetaRead,
        /// The monolith read, when it was kept on disk (`monolith_file.rs`):
        /// then the [`RemoteState`]'s index holds only the entries asked
        /// for, and a commit merges into this file.
        disk: Option<MonolithFile>,
    },
    /// Meta v2: the listed shards are the index.
    Sharded {
        meta: Meta,
        meta_fp: Fingerprint,
        /// The shards read, by partition key.
        shards: BTreeMap<String, ShardRead>,
    },
}

/// The remote index (or the part of it a call needed) and its layout.
#[derive(Debug)]
pub(super) struct RemoteState {
    /// Entries read: the whole index, or (v2, `Need::Paths`) the entries of
    /// the shards that can hold the paths asked for.
    pub index: Index,
    pub layout: Layout,
}

impl RemoteState {
    /// The version a cache that took in all of this index is reconciled
    /// with (`None` for an absent monolith).
    pub fn version(&self) -> Option<Synced> {
        match &self.layout {
            Layout::Monolith { fp, .. } => fp.clone().map(Synced::Monolith),
            Layout::Sharded { meta, .. } => Some(Synced::Sharded(meta.commit_seq.unwrap_or(0))),
        }
    }
}

/// The monolith as read: parsed whole, or (above
/// [`STREAM_ABOVE`] bytes) kept on disk (`monolith_file.rs`).
#[derive(Debug)]
pub(super) enum Monolith {
    Whole(Index, Fingerprint),
    OnDisk(MonolithFile),
}

impl Monolith {
    /// The fingerprint of the bytes read.
    pub fn fp(&self) -> &Fingerprint {
        match self {
            Monolith::Whole(_, fp) => fp,
            Monolith::OnDisk(f) => &f.fp,
        }
    }
}

/// The monolith as this engine last committed it (or a pull last read
/// it), with the fingerprint the store gave those bytes. swamp's v1 index is one object of about
/// 200 bytes per file, and a push after one edit read and parsed it whole
/// (at 10,000 entries 7 ms for the GET and 6.5 ms to parse, a fifth of that
/// push; `make bench`, figure h). While the store still holds exactly
/// those bytes (a HEAD answers the same fingerprint), the next read takes
/// this instead. In memory only up to [`KEEP_ENTRIES`], so that an instance
/// over a large index does not hold it between calls; a monolith kept on
/// disk is kept as its file.
#[derive(Debug)]
pub(super) struct KnownMonolith {
    key: String,
    copy: Monolith,
}

/// The most entries a [`KnownMonolith`] holds in memory (about 8 MiB of
/// JSON).
const KEEP_ENTRIES: usize = 40_000;

impl KnownMonolith {
    /// What a commit (or pull) of `copy` under `key` leaves to keep.
    pub(super) fn of(key: String, copy: Monolith) -> Option<KnownMonolith> {
        match &copy {
            Monolith::Whole(index, _) if index.entries.len() > KEEP_ENTRIES => None,
            _ => Some(KnownMonolith { key, copy }),
        }
    }
}

/// `_meta.json` as read: its bytes and their fingerprint (`None`: absent).
pub(super) type RawMeta = Option<(Vec<u8>, Fingerprint)>;

/// The head of `_meta.json` as this engine last read it, with the
/// fingerprint of those bytes. A zero-diff pull asks the store for the
/// meta only if it changed since (`RemoteStore::get_if_changed`: on S3 a
/// GET with `If-None-Match`), instead of fetching a list of every
/// partition (280 KB at a million entries, `make bench` figure e) to learn
/// that `commitSeq` stayed put.
#[derive(Debug)]
pub(super) struct KnownMeta {
    key: String,
    fp: Fingerprint,
    head: MetaHead,
}

/// The part of the index a call needs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Need<'a> {
    /// All of it.
    All,
    /// The entries equal to or below these paths (more may come along).
    Paths(&'a [String]),
}

/// Keys of one root's index objects.
impl Root {
    pub(super) fn meta_key(&self) -> String {
        self.remote_key(shards::META_FILE)
    }
    pub(super) fn shard_key(&self, pk: &str) -> String {
        self.remote_key(&shards::shard_file(pk))
    }
}

impl<R: RemoteStore> SyncEngine<R> {
    /// Read `_meta.json`.
    pub(super) fn read_meta(&mut self, root: &Root) -> Result<MetaRead> {
        let raw = self.read_meta_raw(root)?;
        self.parse_meta(root, raw)
    }

    /// `_meta.json` again, after `known` was read earlier in this call:
    /// taken as it is while a HEAD answers the same fingerprint (or finds
    /// it still absent), read afresh otherwise.
    pub(super) fn reread_meta(&mut self, root: &Root, known: MetaRead) -> Result<MetaRead> {
        let now = self.remote.fingerprint(&root.meta_key())?;
        match (now, known) {
            (None, None) => Ok(None),
            (Some(fp), Some((meta, known_fp))) if fp == known_fp => Ok(Some((meta, known_fp))),
            _ => self.read_meta(root),
        }
    }

    /// `_meta.json` for a pull's zero-diff check: its head, and its bytes
    /// when they were fetched (`None`: unchanged since this engine last
    /// read them, so not fetched again; [`read_meta_raw`](Self::read_meta_raw)
    /// gets them if the pull needs them after all).
    pub(super) fn meta_for_check(
        &mut self,
        root: &Root,
    ) -> Result<(Option<MetaHead>, Option<RawMeta>)> {
        let key = root.meta_key();
        let raw = match self.known_meta.take().filter(|k| k.key == key) {
            Some(known) => match self.remote.get_if_changed(&key, &known.fp)? {
                Fresh::Unchanged => {
                    let head = known.head;
                    self.known_meta = Some(known);
                    return Ok((Some(head), None));
                }
                Fresh::Now(raw) => raw,
            },
            None => self.read_meta_raw(root)?,
        };
        let head = self.meta_head(root, &raw)?;
        if let (Some((_, fp)), Some(head)) = (&raw, head) {
            self.known_meta = Some(KnownMeta {
                key,
                fp: fp.clone(),
                head,
            });
        }
        Ok((head, Some(raw)))
    }

    /// Read `_meta.json`'s bytes, unparsed.
    pub(super) fn read_meta_raw(&mut self, root: &Root) -> Result<RawMeta> {
        self.remote.get_versioned(&root.meta_key())
    }

    /// Parse what [`read_meta_raw`](Self::read_meta_raw) read.
    pub(super) fn parse_meta(
        &self,
        root: &Root,
        raw: Option<(Vec<u8>, Fingerprint)>,
    ) -> Result<MetaRead> {
        match raw {
            None => Ok(None),
            Some((bytes, fp)) => Ok(Some((
                Meta::parse(&bytes, &self.remote.describe(&root.meta_key()))?,
                fp,
            ))),
        }
    }

    /// The head of `_meta.json` as read (`Meta::head`), falling back to a
    /// whole parse, which reports a meta that is not sound.
    pub(super) fn meta_head(&self, root: &Root, raw: &RawMeta) -> Result<Option<MetaHead>> {
        match raw {
            None => Ok(None),
            Some((bytes, _)) => match Meta::head(bytes) {
                Some(h) => Ok(Some(h)),
                None => Meta::parse(bytes, &self.remote.describe(&root.meta_key()))
                    .map(|m| Some(m.head_of())),
            },
        }
    }

    /// The remote index in its authoritative layout, given the meta just
    /// read. v2: the shards `need` asks for, all read in one batch; a shard
    /// the meta lists but the store lacks is `corrupt-data` (never a silent
    /// fallback to the stale monolith). v1: the monolith, discovered from a
    /// listing when absent over existing data.
    pub(super) fn load_state(
        &mut self,
        root: &Root,
        meta: MetaRead,
        need: Need<'_>,
    ) -> Result<RemoteState> {
        match meta {
            Some((meta, meta_fp)) if meta.is_v2() => {
                let pks: Vec<String> = match need {
                    Need::All => meta.partitions.clone(),
                    Need::Paths(paths) => {
                        let mut set = BTreeSet::new();
                        for p in paths {
                            set.extend(
                                shards::shards_touching(p, &meta.partitions)
                                    .into_iter()
                                    .map(str::to_string),
                            );
                        }
                        set.into_iter().collect()
                    }
                };
                let shards = self.read_shards(root, &pks, true)?;
                let mut index = Index::default();
                for (s, _) in shards.values() {
                    for (rel, e) in &s.entries {
                        index.entries.insert(rel.clone(), e.clone());
                    }
                }
                Ok(RemoteState {
                    index,
                    layout: Layout::Sharded {
                        meta,
                        meta_fp,
                        shards,
                    },
                })
            }
            meta => {
                let source = self.remote.describe(&root.index_key());
                // Only a read of some paths can leave the monolith on disk.
                let read = match need {
                    Need::Paths(paths) => self.read_monolith(root)?.map(|m| (m, paths)),
                    Need::All => None,
                };
                let (index, fp, disk) = match read {
                    Some((Monolith::OnDisk(file), paths)) => {
                        let index = file.entries_under(&source, paths)?;
                        (index, Some(file.fp.clone()), Some(file))
                    }
                    Some((Monolith::Whole(index, fp), _)) => (index, Some(fp), None),
                    // Whole, or absent (then discovered from a listing).
                    None => {
                        let (index, fp) = self.load_remote_index(root)?;
                        (index, fp, None)
                    }
                };
                Ok(RemoteState {
                    index,
                    layout: Layout::Monolith { fp, meta, disk },
                })
            }
        }
    }

    /// Read shards `pks` in one batch. `listed`: they are listed in a v2
    /// meta, so an absent one is corrupt; else absent reads as empty.
    pub(super) fn read_shards(
        &mut self,
        root: &Root,
        pks: &[String],
        listed: bool,
    ) -> Result<BTreeMap<String, ShardRead>> {
        let keys: Vec<String> = pks.iter().map(|pk| root.shard_key(pk)).collect();
        let got = self.remote.get_many(&keys)?;
        let mut out = BTreeMap::new();
        for ((pk, key), read) in pks.iter().zip(&keys).zip(got) {
            match read {
                Some((bytes, fp)) => {
                    let (shard, _) = Shard::parse(&bytes, &self.remote.describe(key))?;
                    out.insert(pk.clone(), (shard, Some(fp)));
                }
                None if listed => {
                    return Err(Error::CorruptData(format!(
                        "index shard {pk} is listed in {} (version 2) but {} does not exist — the index is corrupt and was left untouched; rebuild it (swamp datastore migrate-index)",
                        self.remote.describe(&root.meta_key()),
                        self.remote.describe(key)
                    )));
                }
                None => {
                    out.insert(pk.clone(), (Shard::default(), None));
                }
            }
        }
        Ok(out)
    }

    /// Read the monolith with the fingerprint of exactly those bytes.
    /// A missing index over existing data is discovered from a listing and
    /// written (never taken as "empty": docs/contract.md §6.1, §7 item 8).
    pub(super) fn load_remote_index(
        &mut self,
        root: &Root,
    ) -> Result<(Index, Option<Fingerprint>)> {
        for _ in 0..2 {
            if let Some(found) = self.read_remote_index(root)? {
                return Ok(found);
            }
            let idx = self.discover(root)?;
            if idx.entries.is_empty() {
                return Ok((idx, None));
            }
            let mut written = idx.clone();
            match self
                .remote
                .put_if(&root.index_key(), &written.to_compact(), None)?
            {
                CasOutcome::Written(fp) => return Ok((written, Some(fp))),
                CasOutcome::Conflict => continue, // someone else created it: read theirs
            }
        }
        Err(Error::Conflict(format!(
            "the remote index {} appeared and vanished while it was being created; try again",
            self.remote.describe(&root.index_key())
        )))
    }

    /// The monolith whole, with its fingerprint (`None`: absent).
    pub(super) fn read_remote_index(
        &mut self,
        root: &Root,
    ) -> Result<Option<(Index, Option<Fingerprint>)>> {
        match self.read_monolith(root)? {
            None => Ok(None),
            Some(Monolith::Whole(idx, fp)) => Ok(Some((idx, Some(fp)))),
            Some(Monolith::OnDisk(file)) => {
                // Entry by entry into the map: the file's bytes are never
                // held beside it.
                let mut idx = Index::default();
                let source = self.remote.describe(&root.index_key());
                file.for_each(&source, |e| {
                    idx.entries.insert(e.key.clone(), e);
                    Ok(())
                })?;
                Ok(Some((idx, Some(file.fp.clone()))))
            }
        }
    }

    /// The monolith as read (`None`: absent): the copy this engine kept
    /// ([`KnownMonolith`]) while a HEAD says it is current, else a GET
    /// into a file of the root's work directory, parsed whole if small.
    pub(super) fn read_monolith(&mut self, root: &Root) -> Result<Option<Monolith>> {
        let key = root.index_key();
        // Taken, not copied: the caller consumes the index, and a commit
        // keeps what it wrote.
        if let Some(known) = self.known_monolith.take().filter(|k| k.key == key) {
            match self.remote.fingerprint(&key)? {
                Some(fp) if &fp == known.copy.fp() => return Ok(Some(known.copy)),
                None => return Ok(None),
                // Someone else committed since: read theirs.
                Some(_) => {}
            }
        }
        let dir = root.local.join(WORK_DIR);
        let Some(file) = MonolithFile::download(&mut self.remote, &key, &dir)? else {
            return Ok(None);
        };
        if file.size > STREAM_ABOVE {
            return Ok(Some(Monolith::OnDisk(file)));
        }
        let idx = file.read_whole(&self.remote.describe(&key))?;
        Ok(Some(Monolith::Whole(idx, file.fp.clone())))
    }

    /// Build an index from a listing of the root (solo: leaving out every
    /// namespace's subtree).
    fn discover(&mut self, root: &Root) -> Result<Index> {
        let objects = self.remote.list(&root.prefix)?;
        let mut namespaces = BTreeSet::new();
        if root.ns.is_none() {
            for o in &objects {
                if let Some((first, rest)) = o.key.split_once('/')
                    && (rest == namespace::MANIFEST
                        || rest == INDEX_FILE
                        || rest == shards::META_FILE)
                {
                    namespaces.insert(first.to_string());
                }
            }
        }
        let mut idx = Index::default();
        for o in objects {
            let Some(rel) = o.key.strip_prefix(&root.prefix) else {
                continue;
            };
            let first = rel.split('/').next().unwrap_or(rel);
            if rules::is_never_synced(rel) || namespaces.contains(first) {
                continue;
            }
            if RelPath::parse(rel, "key").map(|p| p.as_str() == rel) != Ok(true) {
                continue;
            }
            idx.entries.insert(
                rel.to_string(),
                IndexEntry {
                    key: rel.to_string(),
                    size: o.size,
                    last_modified: o.last_modified,
                    local_mtime: None,
                    sha256: o.sha256,
                },
            );
        }
        Ok(idx)
    }
}
