//! Recording a push in the remote index, in whichever layout is
//! authoritative, by compare-and-swap with re-read and merge on conflict,
//! so no other writer's entries are ever lost (docs/contract.md §6.4
//! step 6, §6.5, §6.7, §7; the original's unconditional writes: §10.2).
//!
//! * v1 (meta absent or v1): merge into the monolith; then, as swamp's
//!   writer does, best-effort rewrite the touched shards from the merged
//!   monolith and keep a v1 meta listing every partition. Reading the meta
//!   back also catches a migration to v2 that raced with this write: the
//!   changes are then committed to the shards as well.
//! * v2: merge into each touched shard, then bump `commitSeq` in the meta
//!   (each a CAS); emptied shards stay as empty objects; the monolith is
//!   never written and the meta never goes back to v1.

use std::collections::{BTreeMap, BTreeSet};

use super::monolith_file::{MonolithFile, WORK_DIR};
use super::remote_index::{KnownMonolith, Layout, MetaRead, Monolith, RemoteState, ShardRead};
use super::{MAX_CAS_ATTEMPTS, Root, SyncEngine, backoff};
use crate::error::{Error, Result};
use crate::sync::index::{Index, IndexEntry};
use crate::sync::remote::{CasOutcome, Fingerprint, RemoteStore};
use crate::sync::rules;
use crate::sync::shards::{self, Meta, Shard};
use crate::sync::state::Synced;

/// A recorded push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Committed {
    /// The index version that now holds the push.
    pub new: Synced,
    /// The version it replaced (equal to the planned one when no other
    /// writer committed in between).
    pub replaced: Option<Synced>,
}

/// How often the authoritative layout may change under one commit (a
/// migration to v2, or swamp's namespace migration deleting the meta).
const MAX_LAYOUT_SWITCHES: u32 = 3;

fn seq(m: &Meta) -> u64 {
    m.commit_seq.unwrap_or(0)
}

/// The entry as the shared index records it: per-machine data stays local
/// (docs/contract.md §10.8; swamp's readers never need our `localMtime`,
/// because every entry we write carries `sha256`).
fn shared(e: &IndexEntry) -> IndexEntry {
    let mut e = e.clone();
    e.local_mtime = None;
    e
}

/// What swamp's v1 dual write needs of a merged monolith, gathered an
/// entry at a time as the merge writes it: every partition key, and the
/// entries of the partitions the push touched (`dirty`).
struct ShardMirror {
    dirty: BTreeSet<String>,
    all: BTreeSet<String>,
    touched: BTreeMap<String, BTreeMap<String, IndexEntry>>,
    /// The directory of the entry seen last and its partition key: the
    /// key depends on a rel's directory only, and the files of one
    /// directory usually come one after another, so it is computed once
    /// per directory, not once per entry.
    last: Option<(String, Option<String>)>,
}

impl ShardMirror {
    fn new<'a>(rels: impl Iterator<Item = &'a str>) -> ShardMirror {
        ShardMirror {
            dirty: rels.filter_map(rules::partition_key).collect(),
            all: BTreeSet::new(),
            touched: BTreeMap::new(),
            last: None,
        }
    }

    fn see(&mut self, e: &IndexEntry) {
        let dir = e.key.rsplit_once('/').map_or("", |(d, _)| d);
        if self.last.as_ref().is_none_or(|(d, _)| d != dir) {
            let pk = rules::partition_key(&e.key);
            if let Some(pk) = &pk {
                self.all.insert(pk.clone());
            }
            self.last = Some((dir.to_string(), pk));
        }
        if let Some((_, Some(pk))) = &self.last
            && self.dirty.contains(pk)
        {
            self.touched
                .entry(pk.clone())
                .or_default()
                .insert(e.key.clone(), shared(e));
        }
    }
}

impl<R: RemoteStore> SyncEngine<R> {
    /// Merge `uploaded` and `deleted` into the current remote index.
    /// `planned`: the state the push was planned against (its reads serve
    /// as the first CAS attempt); `None` reads afresh (commit-push).
    pub(super) fn commit_remote(
        &mut self,
        root: &Root,
        planned: Option<RemoteState>,
        uploaded: &BTreeMap<String, IndexEntry>,
        deleted: &[String],
    ) -> Result<Committed> {
        let mut state = planned;
        for _ in 0..MAX_LAYOUT_SWITCHES {
            let st = match state.take() {
                Some(s) => s,
                None => match self.read_meta(root)? {
                    Some((meta, meta_fp)) if meta.is_v2() => RemoteState {
                        index: Index::default(),
                        layout: Layout::Sharded {
                            meta,
                            meta_fp,
                            shards: BTreeMap::new(),
                        },
                    },
                    meta => {
                        let (index, fp) = self.load_remote_index(root)?;
                        RemoteState {
                            index,
                            layout: Layout::Monolith {
                                fp,
                                meta,
                                disk: None,
                            },
                        }
                    }
                },
            };
            match st.layout {
                Layout::Monolith { fp, meta, disk } => {
                    let first = match (disk, fp) {
                        (Some(file), _) => Some(Monolith::OnDisk(file)),
                        (None, Some(fp)) => Some(Monolith::Whole(st.index, fp)),
                        (None, None) => None,
                    };
                    let (replaced, merged, mirror) =
                        self.merge_monolith(root, first, uploaded, deleted)?;
                    let new = merged.fp().clone();
                    match self.dual_write(root, mirror, meta) {
                        None => {
                            self.known_monolith = KnownMonolith::of(root.index_key(), merged);
                            return Ok(Committed {
                                new: Synced::Monolith(new),
                                replaced: replaced.map(Synced::Monolith),
                            });
                        }
                        // Migrated to shards meanwhile: the monolith is stale
                        // now, so the push goes into the shards too.
                        Some((meta, meta_fp)) => {
                            state = Some(RemoteState {
                                index: Index::default(),
                                layout: Layout::Sharded {
                                    meta,
                                    meta_fp,
                                    shards: BTreeMap::new(),
                                },
                            });
                        }
                    }
                }
                Layout::Sharded {
                    meta,
                    meta_fp,
                    shards,
                } => {
                    if let Some(c) =
                        self.commit_sharded(root, meta, meta_fp, shards, uploaded, deleted)?
                    {
                        return Ok(c);
                    }
                    // The meta went back to v1 or away: the monolith rules.
                }
            }
        }
        Err(Error::Conflict(format!(
            "the index layout of {} kept changing during the push; the uploaded files are safe, push again",
            self.remote.describe(&root.meta_key())
        )))
    }

    /// CAS-merge into the monolith, in memory or (kept on disk) from file
    /// to file (`monolith_file.rs`). The first attempt uses `first` (the
    /// monolith read when planning; `None`: absent); conflicts re-read.
    /// Returns the fingerprint replaced, the monolith as now stored, and
    /// what the dual write needs of it.
    fn merge_monolith(
        &mut self,
        root: &Root,
        first: Option<Monolith>,
        uploaded: &BTreeMap<String, IndexEntry>,
        deleted: &[String],
    ) -> Result<(Option<Fingerprint>, Monolith, ShardMirror)> {
        let key = root.index_key();
        let source = self.remote.describe(&key);
        let uploaded: BTreeMap<String, IndexEntry> = uploaded
            .iter()
            .map(|(r, e)| (r.clone(), shared(e)))
            .collect();
        let rels = || {
            uploaded
                .keys()
                .map(String::as_str)
                .chain(deleted.iter().map(String::as_str))
        };
        let mut current = first;
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let fp = current.as_ref().map(|m| m.fp().clone());
            let mut mirror = ShardMirror::new(rels());
            let written = match current {
                Some(Monolith::OnDisk(file)) => {
                    let merged = MonolithFile::merge_into(
                        Some(&file),
                        &root.local.join(WORK_DIR),
                        &source,
                        &uploaded,
                        deleted,
                        |e| mirror.see(e),
                    )?;
                    drop(file);
                    match self.remote.put_file_if(&key, merged.path(), fp.as_ref())? {
                        CasOutcome::Written(new) => Some(Monolith::OnDisk(merged.stored(new)?)),
                        CasOutcome::Conflict => None,
                    }
                }
                whole => {
                    let mut idx = match whole {
                        Some(Monolith::Whole(idx, _)) => idx,
                        // An absent index is created by this write.
                        _ => Index::default(),
                    };
                    idx.entries
                        .extend(uploaded.iter().map(|(r, e)| (r.clone(), e.clone())));
                    for rel in deleted {
                        idx.entries.remove(rel);
                    }
                    match self.remote.put_if(&key, &idx.to_compact(), fp.as_ref())? {
                        CasOutcome::Written(new) => {
                            idx.entries.values().for_each(|e| mirror.see(e));
                            Some(Monolith::Whole(idx, new))
                        }
                        CasOutcome::Conflict => None,
                    }
                }
            };
            if let Some(merged) = written {
                return Ok((fp, merged, mirror));
            }
            backoff(attempt);
            current = self.read_monolith(root)?;
        }
        Err(Error::Conflict(format!(
            "the remote index {} kept changing under {MAX_CAS_ATTEMPTS} attempts to update it; the uploaded files are safe, push again",
            self.remote.describe(&key)
        )))
    }

    /// swamp's v1 dual write, best effort: rewrite the shards of `rels`
    /// from the merged monolith and keep a v1 meta listing every partition
    /// (never over a v2 meta: written by CAS). Returns the meta when it
    /// turned out to be v2 (a migration raced with this push). A migration
    /// landing between the meta read and the shard writes goes unnoticed
    /// when no meta write follows (as in swamp's own writer); closing that
    /// would cost a read per shard on every v1 push.
    fn dual_write(
        &mut self,
        root: &Root,
        mirror: ShardMirror,
        planned_meta: MetaRead,
    ) -> Option<(Meta, Fingerprint)> {
        // A migration to v2 may have landed since the push was planned:
        // then the shards are the index, and must not be overwritten here.
        let mut current = self.reread_meta(root, planned_meta).ok()?;
        if let Some((m, fp)) = &current
            && m.is_v2()
        {
            return Some((m.clone(), fp.clone()));
        }
        // Every partition of the index goes into the meta; only the touched
        // ones are written, so only their entries were copied.
        let ShardMirror {
            dirty,
            all,
            mut touched,
            ..
        } = mirror;
        for pk in &dirty {
            let shard = Shard {
                entries: touched.remove(pk).unwrap_or_default(),
                ..Shard::default()
            };
            // The monolith is authoritative; a failed mirror write is only
            // a stale hint for swamp's scoped readers, rewritten next time.
            let _ = self.remote.put(&root.shard_key(pk), &shard.to_compact());
        }
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let have: BTreeSet<String> = match &current {
                Some((m, fp)) if m.is_v2() => return Some((m.clone(), fp.clone())),
                Some((m, _)) => m.partitions.iter().cloned().collect(),
                None => BTreeSet::new(),
            };
            let mut want = have.clone();
            want.extend(all.iter().cloned());
            if want == have && (current.is_some() || want.is_empty()) {
                return None;
            }
            let fp = current.map(|(_, fp)| fp);
            match self
                .remote
                .put_if(&root.meta_key(), &Meta::v1(want).to_compact(), fp.as_ref())
            {
                Ok(CasOutcome::Written(_)) | Err(_) => return None,
                Ok(CasOutcome::Conflict) => {
                    backoff(attempt);
                    current = self.read_meta(root).ok()?;
                }
            }
        }
        None
    }

    /// Commit into the shards of a v2 index, then bump the meta. `None`
    /// when the meta stopped being v2 (the caller falls back to v1).
    fn commit_sharded(
        &mut self,
        root: &Root,
        meta: Meta,
        meta_fp: Fingerprint,
        mut reads: BTreeMap<String, ShardRead>,
        uploaded: &BTreeMap<String, IndexEntry>,
        deleted: &[String],
    ) -> Result<Option<Committed>> {
        type Changes<'a> = (Vec<&'a IndexEntry>, Vec<&'a str>);
        let mut by_pk: BTreeMap<String, Changes<'_>> = BTreeMap::new();
        for (rel, e) in uploaded {
            by_pk.entry(shards::shard_of(rel)).or_default().0.push(e);
        }
        for rel in deleted {
            by_pk.entry(shards::shard_of(rel)).or_default().1.push(rel);
        }
        let unread: Vec<String> = by_pk
            .keys()
            .filter(|pk| !reads.contains_key(*pk))
            .cloned()
            .collect();
        // A commit may create a shard: absent reads as empty here.
        reads.extend(self.read_shards(root, &unread, false)?);

        let mut written = Vec::new();
        for (pk, (ups, dels)) in &by_pk {
            let (mut shard, mut fp) = reads.remove(pk).unwrap_or_default();
            let key = root.shard_key(pk);
            let mut done = false;
            for attempt in 0..MAX_CAS_ATTEMPTS {
                let before = shard.entries.clone();
                for e in ups {
                    shard.entries.insert(e.key.clone(), shared(e));
                }
                for rel in dels {
                    shard.entries.remove(*rel);
                }
                if shard.entries == before && fp.is_some() {
                    // Already as wanted (a retried commit): still a change
                    // readers must notice, so commitSeq goes up below.
                    written.push(pk.clone());
                    done = true;
                    break;
                }
                match self.remote.put_if(&key, &shard.to_compact(), fp.as_ref())? {
                    CasOutcome::Written(_) => {
                        written.push(pk.clone());
                        done = true;
                        break;
                    }
                    CasOutcome::Conflict => {
                        backoff(attempt);
                        (shard, fp) = self
                            .read_shards(root, std::slice::from_ref(pk), false)?
                            .remove(pk)
                            .unwrap_or_default();
                    }
                }
            }
            if !done {
                return Err(Error::Conflict(format!(
                    "the index shard {} kept changing under {MAX_CAS_ATTEMPTS} attempts to update it; the uploaded files are safe, push again",
                    self.remote.describe(&key)
                )));
            }
        }
        if written.is_empty() {
            let v = Synced::Sharded(seq(&meta));
            return Ok(Some(Committed {
                new: v.clone(),
                replaced: Some(v),
            }));
        }
        let (mut meta, mut meta_fp) = (meta, meta_fp);
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let next = meta.next_v2(written.iter().cloned());
            match self
                .remote
                .put_if(&root.meta_key(), &next.to_compact(), Some(&meta_fp))?
            {
                CasOutcome::Written(_) => {
                    return Ok(Some(Committed {
                        new: Synced::Sharded(seq(&next)),
                        replaced: Some(Synced::Sharded(seq(&meta))),
                    }));
                }
                CasOutcome::Conflict => {
                    backoff(attempt);
                    match self.read_meta(root)? {
                        Some((m, fp)) if m.is_v2() => (meta, meta_fp) = (m, fp),
                        _ => return Ok(None),
                    }
                }
            }
        }
        Err(Error::Conflict(format!(
            "the shard meta {} kept changing under {MAX_CAS_ATTEMPTS} attempts to update it; the uploaded files are safe, push again",
            self.remote.describe(&root.meta_key())
        )))
    }
}
