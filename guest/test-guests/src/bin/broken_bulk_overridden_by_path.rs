//! Test-only guest, broken on purpose: a per-path mark replaces a pending bulk mark (markDirty rule 8 inverted).
//! Everything else is fs-datastore.

use test_guests::prelude::*;

fn flush(s: &mut SyncCx) -> Result<()> {
    if std::mem::take(&mut s.flag) {
        s.inner.mark_dirty(&SyncOptions::default())?;
    }
    Ok(())
}

struct B;

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        // The bulk signal is held back until the next push or pull, and a
        // per-path mark forgets it.
        s.flag = o.rel_path.is_none();
        if s.flag {
            return Ok(());
        }
        s.inner.mark_dirty(o)
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
