//! Test-only guest, broken on purpose: a marked directory covers only the files directly inside it when the push runs; files two or more levels below are never pushed.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

/// Hand fs-datastore the held marks: a directory as the files directly
/// inside it, anything else as it is.
fn release(s: &mut SyncCx) -> Result<()> {
    for rel in s.held_marks() {
        let dir = s.cache.join(&rel);
        if dir.is_dir() {
            let files: Vec<String> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.path().is_file())
                        .map(|e| format!("{rel}/{}", e.file_name().to_string_lossy()))
                        .collect()
                })
                .unwrap_or_default();
            for f in files {
                s.forward_mark(f)?;
            }
        } else {
            s.forward_mark(rel)?;
        }
    }
    s.hold_marks(&[])
}

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        let Some(rel) = o.rel_path.clone() else {
            return s.inner.mark_dirty(o);
        };
        RelPath::parse(&rel, "rel-path")?;
        s.hold_mark(&rel)
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        release(s)?;
        s.inner.push_changed(o)
    }
    fn prepare_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushManifest> {
        release(s)?;
        s.inner.prepare_push(o)
    }
    fn preview_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushPreview> {
        release(s)?;
        s.inner.preview_push(o)
    }
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        release(s)?;
        s.inner.pull_changed(o)
    }
}

export_broken!(B);
