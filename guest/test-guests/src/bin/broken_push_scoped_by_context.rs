//! Test-only guest, broken on purpose: a push given context models uploads only the marked files under those models' folders, as this project's engine once did (a model run's outputs, evaluated definition and workflow run stay behind).
//! Everything else is fs-datastore.
//!
//! Per-path marks are held back (`SyncCx::hold_mark`) and handed to
//! fs-datastore when a push or prepare is in scope for them, or at any
//! pull; so only the scoped push differs.

use test_guests::prelude::*;
use test_guests::sdk::sync::rules::ModelScope;

struct B;

/// Hand fs-datastore the held marks that `o`'s models cover (all of them
/// without models); keep the rest held.
fn release(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
    let models = o
        .context
        .as_ref()
        .map(|c| c.models.clone())
        .unwrap_or_default();
    let scope = ModelScope::new(&models)?;
    let (now, later): (Vec<String>, Vec<String>) = s
        .held_marks()
        .into_iter()
        .partition(|rel| scope.as_ref().is_none_or(|sc| sc.contains(rel)));
    for rel in now {
        s.forward_mark(rel)?;
    }
    s.hold_marks(&later)
}

impl Break for B {
    fn mark_dirty(s: &mut SyncCx, o: &SyncOptions) -> Result<()> {
        let Some(rel) = o.rel_path.clone() else {
            return s.inner.mark_dirty(o);
        };
        // Refusals (bad rel-paths) come from fs-datastore as before.
        RelPath::parse(&rel, "rel-path")?;
        s.hold_mark(&rel)
    }
    fn push_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        release(s, o)?;
        s.inner.push_changed(o)
    }
    fn prepare_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushManifest> {
        release(s, o)?;
        s.inner.prepare_push(o)
    }
    fn preview_push(s: &mut SyncCx, o: &SyncOptions) -> Result<PushPreview> {
        release(s, o)?;
        s.inner.preview_push(o)
    }
    fn pull_changed(s: &mut SyncCx, o: &SyncOptions) -> Result<u32> {
        release(s, &SyncOptions::default())?;
        s.inner.pull_changed(o)
    }
}

export_broken!(B);
