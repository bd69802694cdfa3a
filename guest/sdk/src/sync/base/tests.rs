//! Tests of the base on disk. Nearly every one writes a base and reads it
//! back (or the reverse), so they test `read` and `write` together.

use super::*;
use crate::sync::base_summary::{Summary, digest_entries};
use crate::sync::index::{Index, IndexEntry};

fn entry(rel: &str, sha: &str) -> IndexEntry {
    IndexEntry {
        key: rel.into(),
        size: 1,
        last_modified: "2026-01-01T00:00:00.000Z".into(),
        local_mtime: None,
        sha256: Some(sha.into()),
    }
}

fn base_with(rels: &[&str]) -> (tempfile::TempDir, BaseFiles, Index) {
    let d = tempfile::tempdir().unwrap();
    let files = BaseFiles::at(d.path(), d.path().join(".datastore-index.json"));
    let mut idx = files.load().unwrap().0;
    for r in rels {
        idx.entries.insert(r.to_string(), entry(r, "a"));
    }
    files.save(&mut idx).unwrap();
    (d, files, idx)
}

/// Put a non-empty directory where partition `stem`'s file is, so that
/// replacing it fails; its path.
fn block(files: &BaseFiles, stem: &str) -> PathBuf {
    let p = files.file(stem);
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    std::fs::write(p.join("x"), b"x").unwrap();
    p
}

fn stems(files: &BaseFiles) -> Vec<String> {
    files.stems().unwrap()
}

#[test]
fn a_legacy_single_file_is_read_and_replaced_by_partitions() {
    let d = tempfile::tempdir().unwrap();
    let legacy = d.path().join(".datastore-index.json");
    let mut old = Index::default();
    old.entries
        .insert("data/t/m/d/1/raw".into(), entry("data/t/m/d/1/raw", "a"));
    old.entries.insert("top".into(), entry("top", "b"));
    std::fs::write(&legacy, old.to_pretty()).unwrap();
    let files = BaseFiles::at(d.path(), legacy.clone());
    let (mut idx, ok) = files.load().unwrap();
    assert!(ok);
    assert_eq!(idx.entries, old.entries);
    files.save(&mut idx).unwrap();
    assert!(!legacy.exists(), "the first write migrates");
    assert_eq!(stems(&files), vec!["_root", "data--t--m"]);
    assert_eq!(files.load().unwrap().0.entries, old.entries);
}

#[test]
fn a_partial_write_merges_with_partitions_it_did_not_read_and_keeps_the_journal() {
    let (_d, files, mut whole) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
    whole.pending.insert(
        "data/t/a/d/2/raw".into(),
        Some(entry("data/t/a/d/2/raw", "p")),
    );
    files.save(&mut whole).unwrap();
    let (mut part, ok) = files.load_for(&["data/t/a/d/1/raw".to_string()]).unwrap();
    assert!(ok);
    assert_eq!(part.entries.len(), 1);
    assert!(part.pending.is_empty(), "a partial read leaves the journal");
    // A file of a partition that was not read: merged, not replacing it.
    part.entries
        .insert("data/t/b/d/9/raw".into(), entry("data/t/b/d/9/raw", "n"));
    part.entries.remove("data/t/a/d/1/raw");
    files.save(&mut part).unwrap();
    let (after, ok) = files.load().unwrap();
    assert!(ok);
    let keys: Vec<&str> = after.entries.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["data/t/b/d/1/raw", "data/t/b/d/9/raw"]);
    assert_eq!(after.pending.len(), 1, "the journal survived");
    assert_eq!(
        stems(&files),
        vec!["data--t--b"],
        "the emptied partition is gone"
    );
}

#[test]
fn a_write_rewrites_only_partitions_that_changed() {
    let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
    let b = files.file("data--t--b");
    // Dated in the past, so a rewrite would show.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&b)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let mtime = || std::fs::metadata(&b).unwrap().modified().unwrap();
    let (mut idx, ok) = files.load().unwrap();
    assert!(ok);
    idx.entries.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("c".into());
    files.save(&mut idx).unwrap();
    assert_eq!(mtime(), old, "unchanged: not written");
    assert_ne!(
        std::fs::metadata(files.file("data--t--a"))
            .unwrap()
            .modified()
            .unwrap(),
        old
    );
    let (again, _) = files.load().unwrap();
    assert_eq!(
        again.entries["data/t/a/d/1/raw"].sha256.as_deref(),
        Some("c")
    );
}

#[test]
fn a_partition_key_too_long_for_a_file_name_is_stored_under_its_hash() {
    let long = format!("data/{}/m/d/1/raw", "t".repeat(300));
    let (_d, files, _) = base_with(&[&long]);
    let s = stems(&files);
    assert_eq!(s.len(), 1);
    assert!(s[0].starts_with("_h") && s[0].len() == 34, "{s:?}");
    let (part, ok) = files.load_for(std::slice::from_ref(&long)).unwrap();
    assert!(ok);
    assert!(part.entries.contains_key(&long));
}

#[test]
fn a_corrupt_partition_makes_the_whole_base_unknown_and_the_next_write_repairs_it() {
    let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
    std::fs::write(files.file("data--t--a"), b"{").unwrap();
    let (mut idx, ok) = files.load().unwrap();
    assert!(!ok);
    assert!(idx.entries.is_empty());
    let (part, ok) = files.load_for(&["data/t/b/d/1/raw".to_string()]).unwrap();
    assert!(ok, "a partial read does not read the corrupt partition");
    assert_eq!(part.entries.len(), 1);
    let (_, ok) = files.load_for(&["data/t/a/d/1/raw".to_string()]).unwrap();
    assert!(
        !ok,
        "one that reads it falls back to the whole, which is corrupt"
    );
    idx.entries
        .insert("data/t/c/d/1/raw".into(), entry("data/t/c/d/1/raw", "c"));
    files.save(&mut idx).unwrap();
    assert_eq!(stems(&files), vec!["data--t--c"]);
    assert!(files.load().unwrap().1);
}

#[test]
fn a_changed_partition_loses_its_digest_before_it_is_rewritten() {
    let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
    let summary = || {
        Summary::read(&files.dir.join(SUMMARY_DIR), None)
            .unwrap()
            .unwrap()
    };
    assert!(summary().has("data--t--a") && summary().has("data--t--b"));
    let (mut part, _) = files.load_for(&["data/t/a/d/1/raw".to_string()]).unwrap();
    part.entries.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("changed".into());
    // The partition cannot be replaced (a directory is in the way of
    // the rename): the write fails after the digests were updated for
    // what it was about to do, and never vouches for the old contents.
    let a = block(&files, "data--t--a");
    assert!(files.save(&mut part).is_err());
    assert!(!summary().has("data--t--a"), "digest dropped first");
    assert!(summary().has("data--t--b"), "others kept");
    std::fs::remove_dir_all(&a).unwrap();
    files.save(&mut part).unwrap();
    let want = digest_entries(&part.entries);
    assert_eq!(summary().get("data--t--a"), want, "set after the write");
}

#[test]
fn load_changed_reads_the_partitions_whose_digest_differs_and_the_journalled_ones() {
    let rels = ["data/t/a/d/1/raw", "data/t/b/d/1/raw", "data/t/c/d/1/raw"];
    let (_d, files, mut whole) = base_with(&rels);
    whole.pending.insert(
        "data/t/c/d/2/raw".into(),
        Some(entry("data/t/c/d/2/raw", "p")),
    );
    files.save(&mut whole).unwrap();
    let mut remote = whole.entries.clone();
    remote.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("new".into());
    remote.insert("data/t/d/d/1/raw".into(), entry("data/t/d/d/1/raw", "d"));
    let (idx, ok, covered) = files.load_changed(&remote).unwrap();
    assert!(ok);
    let read: Vec<&str> = idx.entries.keys().map(String::as_str).collect();
    assert_eq!(read, vec!["data/t/a/d/1/raw", "data/t/c/d/1/raw"]);
    assert_eq!(idx.pending.len(), 1, "the journal is read");
    assert!(covered.holds("data/t/a/d/9/raw"));
    assert!(covered.holds("data/t/d/d/1/raw"), "new remotely");
    assert!(!covered.holds("data/t/b/d/1/raw"), "agrees");
    // A partition on disk that the remote index lacks is read too.
    let mut fewer = whole.entries.clone();
    fewer.remove("data/t/b/d/1/raw");
    let (_, _, covered) = files.load_changed(&fewer).unwrap();
    assert!(covered.holds("data/t/b/d/1/raw"));
}

#[test]
fn a_whole_write_also_drops_the_digest_first_and_an_unchanged_one_writes_nothing() {
    let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw"]);
    let dir = files.dir.join(SUMMARY_DIR);
    let path = dir.join(format!(
        "{:02x}.json",
        crate::sync::base_summary::bucket_of("data--t--a")
    ));
    let summary = || Summary::read(&dir, None).unwrap().unwrap();
    // Nothing changed: neither partitions nor the summary are written.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (mut whole, ok) = files.load().unwrap();
    assert!(ok);
    files.save(&mut whole).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), old);
    // A whole write that fails on a partition it changes leaves that
    // partition without a digest.
    whole.entries.get_mut("data/t/a/d/1/raw").unwrap().sha256 = Some("changed".into());
    block(&files, "data--t--a");
    assert!(files.save(&mut whole).is_err());
    assert!(!summary().has("data--t--a"));
    assert!(summary().has("data--t--b"));
}

#[test]
fn reading_for_files_reads_their_own_partitions_only_and_finds_hashed_ones() {
    let long = format!("data/{}/m/d/1/raw", "t".repeat(300));
    let (_d, files, _) = base_with(&["data/t/a/d/1/raw", "data/t/b/d/1/raw", &long]);
    let asked = [
        "data/t/a/d/1/raw".to_string(),
        long.clone(),
        "data/t/new/d/1/raw".to_string(),
    ];
    let (mut part, ok) = files.load_for_files(&asked).unwrap();
    assert!(ok);
    let keys: Vec<&str> = part.entries.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["data/t/a/d/1/raw", long.as_str()]);
    // A write of it keeps the partition it did not read, and the
    // partition asked for but absent is known to be empty.
    part.entries.insert(
        "data/t/new/d/1/raw".into(),
        entry("data/t/new/d/1/raw", "n"),
    );
    files.save(&mut part).unwrap();
    let (after, ok) = files.load().unwrap();
    assert!(ok);
    assert_eq!(after.entries.len(), 4);
    // A corrupt partition among them: the whole base, marked unsound.
    std::fs::write(files.file("data--t--a"), b"{").unwrap();
    let (_, ok) = files.load_for_files(&asked[..1]).unwrap();
    assert!(!ok);
}
