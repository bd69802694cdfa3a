//! The rel-path rules every path a host hands a guest passes through
//! (`RelPath::parse`), `is_within`, and the sync rules applied to accepted
//! paths (partition keys name a shard file inside `_index/`).

use std::path::{Component, Path};

use swamp_datastore_sdk::rel_path::is_within;
use swamp_datastore_sdk::sync::{rules, shards};
use swamp_datastore_sdk::{Error, RelPath};

use crate::assert_clean_rel;

/// The `rel_path` target. The input is the path; when it holds a newline,
/// the text after the first one is also used as a directory for
/// `is_within` (before it, as the path).
pub fn rel_path(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    check_parse(raw);
    if let Some((p, dir)) = raw.split_once('\n') {
        check_parse(p);
        let model = p == dir || (p.starts_with(dir) && p[dir.len()..].starts_with('/'));
        assert_eq!(is_within(p, dir), model, "is_within({p:?}, {dir:?})");
    }
}

fn check_parse(raw: &str) {
    let p = match RelPath::parse(raw, "rel-path") {
        Ok(p) => p,
        Err(Error::InvalidArgument(m)) => {
            // The refusal names the argument and quotes the input.
            assert!(m.starts_with("rel-path "), "{m}");
            assert!(m.contains(&format!("{raw:?}")), "{m}");
            return;
        }
        Err(other) => panic!("a refused path must be invalid-argument, got {other:?}"),
    };
    let s = p.as_str();
    assert!(!s.is_empty());
    assert!(!s.contains(['\0', '\\']), "{s:?} keeps a NUL or backslash");
    assert!(!s.starts_with('/'), "{s:?} is absolute");
    let b = s.as_bytes();
    assert!(
        !(b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'),
        "{s:?} starts with a drive letter"
    );
    for seg in p.segments() {
        assert!(!matches!(seg, "" | "." | ".."), "{s:?} has segment {seg:?}");
    }
    // Normalising only drops empty and `.` segments; the rest stay in order.
    let named: Vec<&str> = raw.split('/').filter(|x| !matches!(*x, "" | ".")).collect();
    assert_eq!(p.segments().collect::<Vec<_>>(), named);
    // Idempotent: the normal form is accepted as itself.
    assert_clean_rel(s, "rel-path");
    // On disk it stays below the root, one plain component a segment.
    let root = Path::new("/cache/root");
    let on_disk = p.under(root);
    let below = on_disk.strip_prefix(root).expect("path left its root");
    assert!(
        below
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{on_disk:?} has a non-plain component"
    );
    assert_eq!(below.components().count(), named.len());
    // It lies within each of its ancestors, and within itself.
    assert!(p.is_within(s));
    for (i, _) in s.match_indices('/') {
        assert!(p.is_within(&s[..i]), "{s:?} not within {:?}", &s[..i]);
    }
    // Sync rules on an accepted path: a partition key names one shard file
    // directly inside `_index/`.
    let _ = (rules::is_never_synced(s), rules::is_lazy_content(s));
    if let Some(pk) = rules::partition_key(s) {
        let f = shards::shard_file(&pk);
        assert_clean_rel(&f, "shard file");
        assert_eq!(
            f.matches('/').count(),
            1,
            "shard {pk:?} of {s:?} leaves _index/"
        );
    }
    let touching = [shards::shard_of(s)];
    assert!(
        !shards::shards_touching(s, &touching).is_empty(),
        "{s:?} is not in its own shard"
    );
}
