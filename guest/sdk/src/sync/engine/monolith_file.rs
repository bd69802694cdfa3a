//! swamp's v1 index kept on disk rather than in memory.
//!
//! The v1 index is one object, `.datastore-index.json`, of about 210 bytes
//! per file. Read and parsed whole, it took 130 MiB of guest memory at
//! 100,000 entries (`make bench`, figure f): its bytes, its parsed map and
//! (in a push) the merged copy being serialised, all at once. Above
//! [`STREAM_ABOVE`] bytes the engine holds none of that:
//!
//! * the GET goes straight into a [`MonolithFile`] in the root's work
//!   directory ([`WORK_DIR`]), with the fingerprint of exactly those bytes;
//! * a whole-tree pull splits it in one streaming pass into a file per
//!   partition ([`Split`], by the base's partition function) and
//!   reconciles a group of partitions at a time (`pull_parts.rs`);
//! * a push reads only the entries of the paths it decides
//!   ([`MonolithFile::entries_under`]), and its commit streams the file into
//!   a new one with the changes merged ([`MonolithFile::merge_into`]),
//!   which is uploaded with the read's fingerprint as its condition;
//! * the file of the last commit is kept for the next push while a HEAD
//!   says it is current, as the in-memory copy is for small indexes
//!   (`remote_index.rs`, `KnownMonolith`).
//!
//! Entries are parsed one at a time (serde's streaming visitor over the
//! `entries` map; serde_json has no event parser of its own), so memory
//! holds one entry, one group of partitions, or the small per-partition
//! counts, never the index. Below [`STREAM_ABOVE`] the whole parse stays:
//! it is faster, and its memory is small.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::iso_time;
use crate::nonce;
use crate::sync::base::stem_of_rel;
use crate::sync::index::{Index, IndexEntry, keep_entry};
use crate::sync::remote::{Fingerprint, RemoteStore};

/// The work directory of one root, relative to it (internal: `_index/`
/// never syncs, see `sync::base`).
pub(super) const WORK_DIR: &str = "_index/.monolith";

/// A monolith larger than this many bytes (about 40,000 entries) is kept
/// on disk; a smaller one is parsed whole. Unit tests stream every one.
pub(super) const STREAM_ABOVE: u64 = if cfg!(test) { 0 } else { 8 << 20 };

/// A monolith up to this many bytes is read into memory for each pass
/// and parsed from there, a larger one straight from the file. serde_json
/// parses a slice several times faster than a reader (which it takes a
/// byte at a time), and a push holds the monolith's bytes anyway while it
/// uploads them (one PUT); above this size, a pass holds one entry.
const READ_WHOLE: u64 = if cfg!(test) { 1024 } else { 32 << 20 };

/// Bytes of split entries held before they are appended to their files.
const SPLIT_HELD: usize = if cfg!(test) { 256 } else { 4 << 20 };

/// A file this module created, removed when dropped (on every path out,
/// errors included). A process killed meanwhile leaves it behind; the next
/// download clears the work directory. Its name is a temporary file's
/// (`atomic_file::is_temp_name`), so that no reader of the cache takes a
/// half-written one for a state file.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn scratch_in(dir: &Path, what: &str) -> Result<Scratch> {
    atomic_file::create_dir_all(dir)?;
    Ok(Scratch(dir.join(format!(
        ".{what}-{}{}",
        nonce::new_nonce(),
        atomic_file::TMP_SUFFIX
    ))))
}

/// The monolith's bytes in a file, and the fingerprint the store gave
/// exactly those bytes.
#[derive(Debug)]
pub(super) struct MonolithFile {
    file: Scratch,
    pub fp: Fingerprint,
    pub size: u64,
}

impl MonolithFile {
    /// GET `key` into a new file in `dir`, after clearing what earlier
    /// calls left there (the caller holds no file of that root any more).
    /// `None` when the object is absent.
    pub fn download<R: RemoteStore>(
        remote: &mut R,
        key: &str,
        dir: &Path,
    ) -> Result<Option<MonolithFile>> {
        let _ = fs::remove_dir_all(dir);
        let file = scratch_in(dir, "monolith")?;
        Ok(remote
            .get_to_file_versioned(key, &file.0)?
            .map(|(sent, fp)| MonolithFile {
                file,
                fp,
                size: sent.size,
            }))
    }

    /// Every entry, scrubbed as [`Index::parse`] scrubs (`keep_entry`),
    /// in the file's order. Unparseable text or a version other than 1 is
    /// `corrupt-data` naming `source`, as for a whole parse; `f` may have
    /// seen some entries by then, so callers act on none of them before
    /// this returns.
    pub fn for_each(&self, source: &str, f: impl FnMut(IndexEntry) -> Result<()>) -> Result<()> {
        self.for_each_where(source, |_| true, f)
    }

    /// [`for_each`](Self::for_each) of the entries listed under a rel
    /// that `want` accepts; the others are skipped unparsed (a push wants
    /// a few of them, and building every entry was most of the pass).
    fn for_each_where(
        &self,
        source: &str,
        want: impl Fn(&str) -> bool,
        mut f: impl FnMut(IndexEntry) -> Result<()>,
    ) -> Result<()> {
        let path = &self.file.0;
        let mut failed = None;
        let mut each = |rel: String, mut e: IndexEntry| {
            if keep_entry(&rel, &mut e) {
                f(e)
            } else {
                Ok(())
            }
        };
        let top = Top {
            want: &want,
            each: &mut each,
            failed: &mut failed,
        };
        let parsed = if self.size <= READ_WHOLE {
            let bytes = fs::read(path).map_err(|e| Error::io(path.display(), e))?;
            parse(&mut serde_json::Deserializer::from_slice(&bytes), top)
        } else {
            let file = fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
            let reader = BufReader::with_capacity(64 * 1024, file);
            parse(&mut serde_json::Deserializer::from_reader(reader), top)
        };
        if let Some(e) = failed {
            return Err(e);
        }
        match parsed {
            Ok(Some(1)) => Ok(()),
            Ok(Some(v)) => Err(Error::CorruptData(format!(
                "index {source} has unsupported version {v}; it was left untouched"
            ))),
            Ok(None) => Err(not_index(source, "missing field `version`")),
            Err(e) => Err(not_index(source, e)),
        }
    }

    /// The whole index, parsed in one piece (a small monolith).
    pub fn read_whole(&self, source: &str) -> Result<Index> {
        let path = &self.file.0;
        let bytes = fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        Ok(Index::parse(&bytes, source)?.0)
    }

    /// The entries equal to or below `paths` (with a later duplicate of a
    /// key winning, as in a whole parse).
    pub fn entries_under(&self, source: &str, paths: &[String]) -> Result<Index> {
        let wanted: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
        let mut idx = Index::default();
        let want = |rel: &str| covered(rel, &wanted);
        self.for_each_where(source, want, |e| {
            idx.entries.insert(e.key.clone(), e);
            Ok(())
        })?;
        Ok(idx)
    }

    /// Stream this monolith (`None`: an absent one) into a new file in
    /// `dir` with `uploaded` put in and `deleted` left out, handing every
    /// entry written to `seen`. The entries keep the file's order; the
    /// new ones follow (swamp's readers and ours build a map of them).
    pub fn merge_into(
        this: Option<&MonolithFile>,
        dir: &Path,
        source: &str,
        uploaded: &BTreeMap<String, IndexEntry>,
        deleted: &[String],
        mut seen: impl FnMut(&IndexEntry),
    ) -> Result<MergedFile> {
        let file = scratch_in(dir, "merged")?;
        let path = file.0.clone();
        let out = crate::write_file::WriteFile::create(&path)
            .map_err(|e| Error::io(path.display(), e))?;
        let mut w = EntryWriter::start(BufWriter::with_capacity(64 * 1024, out), &path)?;
        let gone: BTreeSet<&str> = deleted.iter().map(String::as_str).collect();
        if let Some(this) = this {
            this.for_each(source, |e| {
                if uploaded.contains_key(&e.key) || gone.contains(e.key.as_str()) {
                    return Ok(());
                }
                seen(&e);
                w.entry(&e)
            })?;
        }
        for e in uploaded.values() {
            seen(e);
            w.entry(e)?;
        }
        w.finish()?;
        Ok(MergedFile { file })
    }
}

/// A merged monolith written by [`MonolithFile::merge_into`], not yet
/// uploaded.
#[derive(Debug)]
pub(super) struct MergedFile {
    file: Scratch,
}

impl MergedFile {
    pub fn path(&self) -> &Path {
        &self.file.0
    }
    /// These bytes as the store now holds them under `fp`.
    pub fn stored(self, fp: Fingerprint) -> Result<MonolithFile> {
        let path = &self.file.0;
        let size = fs::metadata(path)
            .map_err(|e| Error::io(path.display(), e))?
            .len();
        Ok(MonolithFile {
            file: self.file,
            fp,
            size,
        })
    }
}

/// True when `rel` is equal to or below one of `wanted` (`rel` and each
/// of its ancestors is looked up, instead of testing every wanted path).
fn covered(rel: &str, wanted: &BTreeSet<&str>) -> bool {
    wanted.contains(rel)
        || rel
            .match_indices('/')
            .any(|(i, _)| wanted.contains(&rel[..i]))
}

/// Run `top` over the whole input of `de`.
fn parse<'de, R, W, F>(
    de: &mut serde_json::Deserializer<R>,
    top: Top<'_, W, F>,
) -> serde_json::Result<Option<u32>>
where
    R: serde_json::de::Read<'de>,
    W: Fn(&str) -> bool,
    F: FnMut(String, IndexEntry) -> Result<()>,
{
    let version = top.deserialize(&mut *de)?;
    de.end()?;
    Ok(version)
}

fn not_index(source: &str, e: impl std::fmt::Display) -> Error {
    Error::CorruptData(format!(
        "index {source} is not valid index JSON ({e}); it was left untouched"
    ))
}

/// Writes the compact JSON of a monolith an entry at a time, in swamp's
/// shape (`Index::to_compact` writes the same from a map in memory).
struct EntryWriter<'p, W: Write> {
    out: W,
    path: &'p Path,
    first: bool,
}

impl<'p, W: Write> EntryWriter<'p, W> {
    fn start(mut out: W, path: &'p Path) -> Result<EntryWriter<'p, W>> {
        let head = format!(
            "{{\"version\":1,\"lastPulled\":\"{}\",\"entries\":{{",
            iso_time::now_millis()
        );
        out.write_all(head.as_bytes())
            .map_err(|e| Error::io(path.display(), e))?;
        Ok(EntryWriter {
            out,
            path,
            first: true,
        })
    }

    fn entry(&mut self, e: &IndexEntry) -> Result<()> {
        let io = |e| Error::io(self.path.display(), e);
        if !std::mem::take(&mut self.first) {
            self.out.write_all(b",").map_err(io)?;
        }
        serde_json::to_writer(&mut self.out, &e.key).map_err(|e| io(e.into()))?;
        self.out.write_all(b":").map_err(io)?;
        serde_json::to_writer(&mut self.out, e).map_err(|e| io(e.into()))
    }

    fn finish(mut self) -> Result<()> {
        let io = |e| Error::io(self.path.display(), e);
        self.out.write_all(b"}}").map_err(io)?;
        self.out.flush().map_err(io)
    }
}

/// A monolith split into a file per base partition (JSON lines of
/// entries), with the number of entries of each; the files go with it.
pub(super) struct Split {
    dir: PathBuf,
    counts: BTreeMap<String, usize>,
    held: BTreeMap<String, Vec<u8>>,
    held_bytes: usize,
}

impl Drop for Split {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Split {
    /// Split `file` into the directory `dir` (emptied first).
    pub fn of(file: &MonolithFile, dir: PathBuf, source: &str) -> Result<Split> {
        let _ = fs::remove_dir_all(&dir);
        atomic_file::create_dir_all(&dir)?;
        let mut split = Split {
            dir,
            counts: BTreeMap::new(),
            held: BTreeMap::new(),
            held_bytes: 0,
        };
        file.for_each(source, |e| split.add(&e))?;
        split.flush()?;
        Ok(split)
    }

    fn add(&mut self, e: &IndexEntry) -> Result<()> {
        let stem = stem_of_rel(&e.key);
        let buf = self.held.entry(stem.clone()).or_default();
        let before = buf.len();
        serde_json::to_writer(&mut *buf, e).map_err(|e| Error::Internal(e.to_string()))?;
        buf.push(b'\n');
        self.held_bytes += buf.len() - before;
        *self.counts.entry(stem).or_default() += 1;
        if self.held_bytes > SPLIT_HELD {
            self.flush()?;
        }
        Ok(())
    }

    /// Append what is held to the partitions' files.
    fn flush(&mut self) -> Result<()> {
        for (stem, bytes) in std::mem::take(&mut self.held) {
            let path = self.file(&stem);
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(path.display(), e))?;
            f.write_all(&bytes)
                .map_err(|e| Error::io(path.display(), e))?;
        }
        self.held_bytes = 0;
        Ok(())
    }

    /// A temporary file's name too (see [`Scratch`]).
    fn file(&self, stem: &str) -> PathBuf {
        self.dir
            .join(format!(".{stem}.jsonl{}", atomic_file::TMP_SUFFIX))
    }

    /// The partitions (by base file stem) and how many entries each has.
    pub fn counts(&self) -> &BTreeMap<String, usize> {
        &self.counts
    }

    /// The entries of partition `stem` into `into` (a later duplicate of a
    /// key winning, as in a whole parse).
    pub fn read(&self, stem: &str, into: &mut BTreeMap<String, IndexEntry>) -> Result<()> {
        let path = self.file(stem);
        let f = fs::File::open(&path).map_err(|e| Error::io(path.display(), e))?;
        for line in BufReader::new(f).lines() {
            let line = line.map_err(|e| Error::io(path.display(), e))?;
            let e: IndexEntry = serde_json::from_str(&line)
                .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
            into.insert(e.key.clone(), e);
        }
        Ok(())
    }
}

/// The top level of a monolith: `version` kept, `entries` handed on one
/// at a time, anything else skipped. A failure of the callback stops the
/// parse and is kept in `failed`.
struct Top<'a, W, F> {
    want: &'a W,
    each: &'a mut F,
    failed: &'a mut Option<Error>,
}

impl<'de, W: Fn(&str) -> bool, F: FnMut(String, IndexEntry) -> Result<()>> DeserializeSeed<'de>
    for Top<'_, W, F>
{
    type Value = Option<u32>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Option<u32>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, W: Fn(&str) -> bool, F: FnMut(String, IndexEntry) -> Result<()>> Visitor<'de>
    for Top<'_, W, F>
{
    type Value = Option<u32>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an index object")
    }
    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Option<u32>, A::Error> {
        let mut version = None;
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "version" => version = Some(map.next_value::<u32>()?),
                "entries" => map.next_value_seed(Entries {
                    want: self.want,
                    each: &mut *self.each,
                    failed: &mut *self.failed,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(version)
    }
}

/// The `entries` map, one entry at a time.
struct Entries<'a, W, F> {
    want: &'a W,
    each: &'a mut F,
    failed: &'a mut Option<Error>,
}

impl<'de, W: Fn(&str) -> bool, F: FnMut(String, IndexEntry) -> Result<()>> DeserializeSeed<'de>
    for Entries<'_, W, F>
{
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, W: Fn(&str) -> bool, F: FnMut(String, IndexEntry) -> Result<()>> Visitor<'de>
    for Entries<'_, W, F>
{
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of index entries")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(rel) = map.next_key::<String>()? {
            if !(self.want)(&rel) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let e = map.next_value::<IndexEntry>()?;
            if let Err(e) = (self.each)(rel, e) {
                *self.failed = Some(e);
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` as a monolith file, read from memory (`whole`) or from the
    /// file as it goes.
    fn file(dir: &Path, text: &str, whole: bool) -> MonolithFile {
        let f = scratch_in(dir, "t").unwrap();
        fs::write(&f.0, text).unwrap();
        MonolithFile {
            file: f,
            fp: Fingerprint("fp".into()),
            size: if whole { 0 } else { u64::MAX },
        }
    }

    fn e(k: &str, size: u64) -> String {
        format!(r#"{{"key":"{k}","size":{size},"lastModified":"t","sha256":"ab"}}"#)
    }

    fn keys_and_sizes(f: &MonolithFile) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        f.for_each("src", |e| {
            out.push((e.key, e.size));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn both_ways_of_reading_give_every_entry_scrubbed_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            r#"{{"entries":{{"b/x":{},"a/y":{},"../up":{},"a/y":{},"c":{}}},"extra":[1,{{"z":2}}],"version":1}}"#,
            e("b/x", 1),
            e("a/y", 2),
            e("../up", 3),
            e("a/y", 4),
            e("wrong-key", 5)
        );
        let want = vec![
            ("b/x".to_string(), 1),
            ("a/y".to_string(), 2),
            ("a/y".to_string(), 4),
            ("c".to_string(), 5),
        ];
        for whole in [true, false] {
            assert_eq!(keys_and_sizes(&file(dir.path(), &text, whole)), want);
        }
        // A later duplicate wins, as in a whole parse.
        let under = file(dir.path(), &text, false)
            .entries_under("src", &["a".to_string()])
            .unwrap();
        assert_eq!(under.entries.len(), 1);
        assert_eq!(under.entries["a/y"].size, 4);
    }

    #[test]
    fn entries_under_takes_a_path_and_what_is_below_it_only() {
        let dir = tempfile::tempdir().unwrap();
        let rels = ["d/a", "d/a/x", "d/a/y/z", "d/ab", "d/b", "e"];
        let body: Vec<String> = rels
            .iter()
            .map(|r| format!("\"{r}\":{}", e(r, 1)))
            .collect();
        let text = format!(r#"{{"version":1,"entries":{{{}}}}}"#, body.join(","));
        let f = file(dir.path(), &text, true);
        let got = f.entries_under("src", &["d/a".into(), "e".into()]).unwrap();
        let keys: Vec<&str> = got.entries.keys().map(String::as_str).collect();
        assert_eq!(keys, ["d/a", "d/a/x", "d/a/y/z", "e"]);
    }

    #[test]
    fn a_broken_monolith_is_corrupt_data_naming_it_and_a_callback_error_is_its_own() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            "",
            "{",
            "[]",
            r#"{"version":1,"entries":{"a":{"size":1}}}"#,
            r#"{"version":1,"entries":{}} trailing"#,
            r#"{"version":3,"entries":{}}"#,
            r#"{"entries":{}}"#,
        ] {
            for whole in [true, false] {
                match file(dir.path(), bad, whole).for_each("s3://b/idx", |_| Ok(())) {
                    Err(Error::CorruptData(m)) => assert!(m.contains("s3://b/idx"), "{bad}: {m}"),
                    other => panic!("{bad}: {other:?}"),
                }
            }
        }
        let text = format!(r#"{{"version":1,"entries":{{"a":{}}}}}"#, e("a", 1));
        for whole in [true, false] {
            let got = file(dir.path(), &text, whole)
                .for_each("src", |_| Err(Error::Unavailable("disk full".into())));
            assert!(matches!(got, Err(Error::Unavailable(_))), "{got:?}");
        }
    }

    #[test]
    fn a_merge_keeps_the_others_replaces_and_adds_the_uploaded_and_drops_the_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|r| format!("\"{r}\":{}", e(r, 1)))
            .collect();
        let text = format!(r#"{{"version":1,"entries":{{{}}}}}"#, body.join(","));
        let mut up = BTreeMap::new();
        for (k, size) in [("b", 7), ("z", 9)] {
            let entry: IndexEntry = serde_json::from_str(&e(k, size)).unwrap();
            up.insert(k.to_string(), entry);
        }
        for source in [Some(file(dir.path(), &text, false)), None] {
            let mut seen = Vec::new();
            let merged = MonolithFile::merge_into(
                source.as_ref(),
                dir.path(),
                "src",
                &up,
                &["c".to_string()],
                |e| seen.push(e.key.clone()),
            )
            .unwrap();
            let (idx, _) = Index::parse(&fs::read(merged.path()).unwrap(), "m").unwrap();
            let got: Vec<(&str, u64)> = idx
                .entries
                .iter()
                .map(|(k, e)| (k.as_str(), e.size))
                .collect();
            let want: &[(&str, u64)] = match source {
                Some(_) => &[("a", 1), ("b", 7), ("d", 1), ("z", 9)],
                None => &[("b", 7), ("z", 9)],
            };
            assert_eq!(got, want);
            seen.sort();
            assert_eq!(
                seen,
                want.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>()
            );
            let path = merged.path().to_path_buf();
            let stored = merged.stored(Fingerprint("new".into())).unwrap();
            assert_eq!(stored.size, fs::metadata(&path).unwrap().len());
            drop(stored);
            assert!(!path.exists(), "a dropped file is removed");
        }
    }
}
