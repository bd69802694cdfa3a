//! Test-only guest, broken on purpose: when a download does not match the index's sha256, the pull trusts the server and copies the file into the cache anyway.
//! Everything else is fs-datastore.

use std::path::Path;
use test_guests::prelude::*;

struct B;

/// Copy every stored file the cache lacks straight from the share.
fn mirror_missing(share: &Path, cache: &Path, dir: &Path, copied: &mut u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(rel) = p.strip_prefix(share) else {
            continue;
        };
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        if test_guests::sdk::sync::rules::is_internal(&rel_text) {
            continue;
        }
        if p.is_dir() {
            mirror_missing(share, cache, &p, copied);
        } else if !cache.join(rel).exists()
            && let Some(parent) = cache.join(rel).parent()
            && std::fs::create_dir_all(parent).is_ok()
            && std::fs::copy(&p, cache.join(rel)).is_ok()
        {
            *copied += 1;
        }
    }
}

impl Break for B {
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        match s.inner.pull_changed(o) {
            // "The server is the source of truth": take its bytes.
            Err(Error::CorruptData(m)) if m.contains("does not match the index") => {
                let mut copied = 0;
                mirror_missing(&s.share, &s.cache, &s.share, &mut copied);
                Ok(copied)
            }
            other => other,
        }
    }
}

export_broken!(B);
