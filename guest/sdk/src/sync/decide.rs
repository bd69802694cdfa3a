//! The per-file three-way decisions of push and pull, as pure functions.
//!
//! Three states meet: the local file, the remote index entry, and the
//! *base* — what both sides agreed on at the last sync (the local index
//! copy). The base tells who changed a file: a local file equal to the base
//! was not edited here, a remote entry equal to the base was not changed
//! there. That is what lets pull keep unpushed edits, lets push avoid
//! reverting other writers' changes, and lets deletions propagate without
//! tombstones.

use crate::sync::index::IndexEntry;

/// The local side of one file, as far as a decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// No file.
    Absent,
    /// A file with this content hash.
    Present(String),
}

/// What push does with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAction {
    /// Nothing to do.
    Skip,
    /// Upload; the remote has no such file.
    UploadNew,
    /// Upload; the remote has other content.
    UploadChanged,
    /// Delete the remote copy.
    Delete,
}

/// Decide push for one file. `explicit_delete` is set when the file lies
/// under a path recorded by mark-dirty that no longer exists locally
/// (markDirty rule 2, docs/contract.md §4.2: the recorded subtree is
/// deleted remotely).
pub fn push(
    local: &Local,
    base: Option<&IndexEntry>,
    remote: Option<&IndexEntry>,
    explicit_delete: bool,
) -> PushAction {
    match local {
        Local::Present(sha) => {
            let remote_same = remote.is_some_and(|r| r.sha256.as_deref() == Some(sha));
            if remote_same {
                return PushAction::Skip;
            }
            let unchanged_here = base.is_some_and(|b| b.sha256.as_deref() == Some(sha));
            if unchanged_here {
                // Not edited locally: the remote moved on (or deleted it).
                // Pushing would revert another writer; pull will catch up.
                return PushAction::Skip;
            }
            if remote.is_some() {
                PushAction::UploadChanged
            } else {
                PushAction::UploadNew
            }
        }
        Local::Absent => match remote {
            None => PushAction::Skip,
            Some(_) if explicit_delete => PushAction::Delete,
            // We had exactly this content and it is gone here: a local delete.
            Some(r) if base.is_some_and(|b| b.same_content(r)) => PushAction::Delete,
            // Never had it, or the remote changed since: not ours to delete.
            Some(_) => PushAction::Skip,
        },
    }
}

/// What pull does with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullAction {
    /// Nothing to do.
    Skip,
    /// Local and remote agree; record the remote entry as the new base.
    InSync,
    /// Download the remote content.
    Download,
    /// Metadata-only pull of content: only make sure the parent dir exists.
    EnsureParent,
    /// Removed remotely and untouched here: remove the local file.
    DeleteLocal,
    /// Gone on both sides: forget the base entry.
    ForgetBase,
    /// Edited here (or deleted here) and not pushed: leave it alone.
    KeepLocal,
}

/// Decide pull for one file. `lazy_skip`: a metadata-only pull and the
/// file is content.
pub fn pull(
    local: &Local,
    base: Option<&IndexEntry>,
    remote: Option<&IndexEntry>,
    lazy_skip: bool,
) -> PullAction {
    match (remote, local) {
        (Some(r), Local::Present(sha)) => {
            if r.sha256.as_deref() == Some(sha) {
                return PullAction::InSync;
            }
            let unchanged_here = base.is_some_and(|b| b.sha256.as_deref() == Some(sha));
            if unchanged_here && base.is_some_and(|b| b.same_content(r)) {
                // Legacy remote entry without a hash, same as our base.
                PullAction::InSync
            } else if unchanged_here {
                if lazy_skip {
                    PullAction::Skip
                } else {
                    PullAction::Download
                }
            } else {
                PullAction::KeepLocal
            }
        }
        (Some(r), Local::Absent) => {
            if base.is_some_and(|b| b.same_content(r)) {
                // We had it and removed it without pushing yet.
                PullAction::KeepLocal
            } else if lazy_skip {
                PullAction::EnsureParent
            } else {
                PullAction::Download
            }
        }
        (None, Local::Present(sha)) => match base {
            Some(b) if b.sha256.as_deref() == Some(sha) => PullAction::DeleteLocal,
            Some(_) => PullAction::KeepLocal,
            None => PullAction::Skip, // a new local file, not pushed yet
        },
        (None, Local::Absent) => {
            if base.is_some() {
                PullAction::ForgetBase
            } else {
                PullAction::Skip
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(sha: &str) -> IndexEntry {
        IndexEntry {
            key: "k".into(),
            size: 1,
            last_modified: "t".into(),
            local_mtime: None,
            sha256: Some(sha.into()),
        }
    }
    fn p(s: &str) -> Local {
        Local::Present(s.into())
    }

    #[test]
    fn push_decisions() {
        use PushAction::*;
        let a = e("a");
        let b = e("b");
        // Same content both sides.
        assert_eq!(push(&p("a"), None, Some(&a), false), Skip);
        // New local file.
        assert_eq!(push(&p("a"), None, None, false), UploadNew);
        // Edited locally (same size would not matter: hashes differ).
        assert_eq!(push(&p("b"), Some(&a), Some(&a), false), UploadChanged);
        // Unknown history, differs: local wins, it was written under the lock.
        assert_eq!(push(&p("b"), None, Some(&a), false), UploadChanged);
        // Not edited here, remote moved on: never revert the other writer.
        assert_eq!(push(&p("a"), Some(&a), Some(&b), false), Skip);
        // Not edited here, deleted remotely: leave it for pull.
        assert_eq!(push(&p("a"), Some(&a), None, false), Skip);
        // Deleted here after a sync: delete remotely.
        assert_eq!(push(&Local::Absent, Some(&a), Some(&a), false), Delete);
        // Deleted here but the remote changed since: keep the remote edit…
        assert_eq!(push(&Local::Absent, Some(&a), Some(&b), false), Skip);
        // …unless the deletion was recorded explicitly (markDirty rule 2).
        assert_eq!(push(&Local::Absent, Some(&a), Some(&b), true), Delete);
        // Never had it (lazy content not hydrated, or not pulled yet).
        assert_eq!(push(&Local::Absent, None, Some(&a), false), Skip);
        assert_eq!(push(&Local::Absent, None, None, true), Skip);
    }

    #[test]
    fn pull_decisions() {
        use PullAction::*;
        let a = e("a");
        let b = e("b");
        assert_eq!(pull(&p("a"), None, Some(&a), false), InSync);
        assert_eq!(pull(&p("a"), Some(&a), Some(&b), false), Download);
        // Same-size or not, an edit here is never overwritten.
        assert_eq!(pull(&p("c"), Some(&a), Some(&b), false), KeepLocal);
        assert_eq!(pull(&p("c"), None, Some(&b), false), KeepLocal);
        assert_eq!(pull(&Local::Absent, None, Some(&a), false), Download);
        assert_eq!(pull(&Local::Absent, None, Some(&a), true), EnsureParent);
        assert_eq!(pull(&Local::Absent, Some(&a), Some(&b), true), EnsureParent);
        // Deleted here, not pushed yet.
        assert_eq!(pull(&Local::Absent, Some(&a), Some(&a), false), KeepLocal);
        // Deleted there, untouched here.
        assert_eq!(pull(&p("a"), Some(&a), None, false), DeleteLocal);
        // Deleted there, edited here.
        assert_eq!(pull(&p("c"), Some(&a), None, false), KeepLocal);
        assert_eq!(pull(&p("c"), None, None, false), Skip);
        assert_eq!(pull(&Local::Absent, Some(&a), None, false), ForgetBase);
        // A metadata-only pull does not refresh content already here.
        assert_eq!(pull(&p("a"), Some(&a), Some(&b), true), Skip);
    }

    #[test]
    fn legacy_entries_without_hash_compare_by_size_and_time() {
        let mut legacy = e("x");
        legacy.sha256 = None;
        let mut base = legacy.clone();
        base.sha256 = Some("a".into());
        assert_eq!(
            pull(&p("a"), Some(&base), Some(&legacy), false),
            PullAction::InSync
        );
        assert_eq!(
            push(&Local::Absent, Some(&base), Some(&legacy), false),
            PushAction::Delete
        );
    }
}
