//! Test-only guest, broken on purpose: a push rewrites the remote index from the copy it read before uploading, without compare-and-swap, so entries other writers committed meanwhile are lost.
//! Everything else is fs-datastore.
//!
//! fs-datastore's own push merges by compare-and-swap; this guest then
//! writes back the index as it would look had it been read once at the
//! start and written blindly at the end: entries that appeared meanwhile
//! and are not this cache's own files are dropped. The read happens a
//! moment before the push, so racing writers all read first.

use std::collections::BTreeSet;
use test_guests::prelude::*;

struct B;

fn index_path(s: &SyncCx) -> std::path::PathBuf {
    s.share.join(INDEX_FILE)
}

fn read_index(s: &SyncCx) -> Option<Value> {
    let bytes = std::fs::read(index_path(s)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn keys(index: &Option<Value>) -> BTreeSet<String> {
    index
        .as_ref()
        .and_then(|v| v.get("entries"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

impl Break for B {
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        if o.namespace.is_some() {
            return s.inner.push_changed(o);
        }
        let before = keys(&read_index(s));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let n = s.inner.push_changed(o)?;
        let own: BTreeSet<String> = s.cache_files().into_iter().map(|(rel, _)| rel).collect();
        if let Some(mut now) = read_index(s)
            && let Some(entries) = now.get_mut("entries").and_then(Value::as_object_mut)
        {
            entries.retain(|k, _| before.contains(k) || own.contains(k));
            let _ = sdk_write(&index_path(s), &now);
        }
        Ok(n)
    }
}

fn sdk_write(path: &std::path::Path, v: &Value) -> std::io::Result<()> {
    std::fs::write(path, serde_json::to_vec(v).unwrap_or_default())
}

export_broken!(B);
