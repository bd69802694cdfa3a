//! Test-only guest, broken on purpose: marks are kept in memory until the next push or pull, so a restart loses them.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

fn flush(s: &mut SyncCx) -> Result<()> {
    for m in std::mem::take(&mut s.paths) {
        let (rel_path, namespace): (Option<String>, Option<String>) =
            serde_json::from_str(&m).unwrap();
        s.inner.mark_dirty(&SyncOptions {
            rel_path,
            namespace,
            ..SyncOptions::default()
        })?;
    }
    Ok(())
}

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        if let Some(rel) = &o.rel_path {
            RelPath::parse(rel, "rel-path")?; // still refused when invalid
        }
        s.paths
            .push(serde_json::to_string(&(&o.rel_path, &o.namespace)).unwrap());
        Ok(())
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        flush(s)?;
        s.inner.push_changed(o)
    }
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        flush(s)?;
        s.inner.pull_changed(o)
    }
    fn prepare_push(s: &mut SyncCx, o: &SyncOptions) -> Result<test_guests::sdk::PushManifest> {
        flush(s)?;
        s.inner.prepare_push(o)
    }
    fn preview_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushPreview> {
        flush(s)?;
        s.inner.preview_push(o)
    }
}

export_broken!(B);
