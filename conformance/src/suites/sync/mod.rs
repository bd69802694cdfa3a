//! Sync between a cache and the remote store (docs/contract.md §9.4, §4,
//! §5.2, §5.6): swamp's kit, then round trips between two caches, exact
//! counts, the eight markDirty rules, and every advertised capability
//! exercised.
//!
//! Every check is skipped when the provider has no sync service.
//!
//! The checks are in files along the suite's sections: `support.rs` (the
//! trees, caches and helpers every check uses), `round_trips.rs` (round
//! trips and exact counts), `rules.rs` (the eight markDirty rules and bad
//! rel-paths) and `capabilities.rs` (the calls and capabilities every
//! provider has, then each optional capability exercised).

mod capabilities;
mod round_trips;
mod rules;
mod support;

use crate::framework::{Check, Suite, check};
use capabilities::{
    callable, capabilities_well_formed, hydrate_atomic, hydrate_file, metadata_only_pull,
    namespaces_apart, preview_push, push_ignores_scope, scoped_pull, two_phase,
    unadvertised_unsupported,
};
use round_trips::{
    bulk_mark_pushes_deletions, concurrent_writers, counts_exact, deletion_propagates,
    generated_tree, marked_directory_deep, pull_keeps_local_edits, pull_keeps_new_local_files,
    round_trip, same_size_edit, timeout_honoured, zero_diff_pull, zero_diff_push,
};
use rules::{bad_rel_paths, rule1, rule2, rule3, rule4, rule5, rule6, rule7, rule8};

pub(crate) use support::is_internal;

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "sync.callable",
            Suite::Sync,
            "mark-dirty, pull-changed and push-changed are callable on an empty cache and return counts",
            callable
        ),
        check!(
            "sync.capabilities-well-formed",
            Suite::Sync,
            "capabilities is callable and the same on every call and every instance",
            capabilities_well_formed
        ),
        check!(
            "sync.unadvertised-unsupported",
            Suite::Sync,
            "optional calls whose capability is not advertised fail with unsupported",
            unadvertised_unsupported
        ),
        check!(
            "sync.round-trip",
            Suite::Sync,
            "a tree pushed from one cache and pulled into a fresh one is identical byte for byte",
            round_trip
        ),
        check!(
            "sync.counts-exact",
            Suite::Sync,
            "push returns files uploaded + deleted and pull files downloaded, exactly",
            counts_exact
        ),
        check!(
            "sync.zero-diff-push",
            Suite::Sync,
            "a push with nothing changed returns 0, also after a bulk mark-dirty",
            zero_diff_push
        ),
        check!(
            "sync.zero-diff-pull",
            Suite::Sync,
            "a pull with nothing changed remotely returns 0",
            zero_diff_pull
        ),
        check!(
            "sync.same-size-edit",
            Suite::Sync,
            "an edit that keeps the file size is synced both ways (content compared by hash, not size)",
            same_size_edit
        ),
        check!(
            "sync.deletion-propagates",
            Suite::Sync,
            "a file deleted (and marked) in one cache is deleted remotely and in the other cache on pull",
            deletion_propagates
        ),
        check!(
            "sync.pull-keeps-local-edits",
            Suite::Sync,
            "pull never overwrites a local file with unpushed edits",
            pull_keeps_local_edits
        ),
        check!(
            "sync.pull-keeps-new-local-files",
            Suite::Sync,
            "pull never deletes a new local file the remote does not have yet, marked or not",
            pull_keeps_new_local_files
        ),
        check!(
            "sync.bulk-mark-pushes-deletions",
            Suite::Sync,
            "after a bulk mark-dirty, a file deleted locally (never marked on its own) is deleted remotely and in the other cache",
            bulk_mark_pushes_deletions
        ),
        check!(
            "sync.marked-directory-deep",
            Suite::Sync,
            "a marked directory covers its whole subtree: files written two and three levels below it are pushed",
            marked_directory_deep
        ),
        check!(
            "sync.generated-tree",
            Suite::Sync,
            "a generated tree (every size from 0 bytes to past 16 MiB across the split boundaries, names with spaces, punctuation and non-ASCII letters, 1 to 12 levels deep) round-trips byte for byte, and so do edits, resizes and deletions of it; the seed is named on failure",
            generated_tree
        ),
        check!(
            "sync.timeout-honoured",
            Suite::Sync,
            "a push given timeout-ms 50 on 2,000 files stops with aborted soon after it (not run on until the host stops it), and the next push uploads everything it left",
            timeout_honoured
        ),
        check!(
            "sync.concurrent-writers",
            Suite::Sync,
            "three caches pushing into one datastore at the same moment, twice: a fresh cache then pulls the union, byte for byte (no writer's files lost from the index)",
            concurrent_writers
        ),
        check!(
            "sync.rule1-mark-before-write",
            Suite::Sync,
            "markDirty rule 1: mark-dirty(rel) before the write; the push uploads what was written after the mark",
            rule1
        ),
        check!(
            "sync.rule2-absence-deletes",
            Suite::Sync,
            "markDirty rule 2: a marked directory absent at push time deletes its whole remote subtree",
            rule2
        ),
        check!(
            "sync.rule3-bulk-full-walk",
            Suite::Sync,
            "markDirty rule 3: mark-dirty without rel-path makes the next push walk everything",
            rule3
        ),
        check!(
            "sync.rule4-restart",
            Suite::Sync,
            "markDirty rule 4: a marked, unpushed edit is pushed by a new instance on the same cache (restart)",
            rule4
        ),
        check!(
            "sync.rule5-nested-rel-path",
            Suite::Sync,
            "markDirty rule 5: deep forward-slash rel-paths are converted for disk and pushed",
            rule5
        ),
        check!(
            "sync.rule6-idempotent-marks",
            Suite::Sync,
            "markDirty rule 6: repeated marks are idempotent; one changed file is pushed once",
            rule6
        ),
        check!(
            "sync.rule7-rel-path-only-on-mark-dirty",
            Suite::Sync,
            "markDirty rule 7: a rel-path on push/pull is ignored or refused with invalid-argument, never used as a filter",
            rule7
        ),
        check!(
            "sync.rule8-bulk-overrides-path",
            Suite::Sync,
            "markDirty rule 8: bulk then per-path marks in one operation still push everything",
            rule8
        ),
        check!(
            "sync.bad-rel-paths-refused",
            Suite::Sync,
            "absolute, `..`, NUL and backslash rel-paths are refused with invalid-argument",
            bad_rel_paths
        ),
        check!(
            "sync.metadata-only-pull",
            Suite::Sync,
            "lazy-hydration: a metadata-only pull brings everything except data/**/raw content",
            metadata_only_pull
        ),
        check!(
            "sync.hydrate-file",
            Suite::Sync,
            "lazy-hydration: hydrate-file downloads a content file (true) and returns false for a missing one",
            hydrate_file
        ),
        check!(
            "sync.hydrate-atomic",
            Suite::Sync,
            "lazy-hydration: hydrate-file replaces an outdated copy atomically (a complete new file renamed into place)",
            hydrate_atomic
        ),
        check!(
            "sync.scoped-pull",
            Suite::Sync,
            "scoped-sync: a pull with context models brings those models' data and not others'",
            scoped_pull
        ),
        check!(
            "sync.push-ignores-scope",
            Suite::Sync,
            "scoped-sync: a push (and a prepare-push) with context models still uploads every marked file, also those of a model run that lie outside the model's folders",
            push_ignores_scope
        ),
        check!(
            "sync.namespaces-apart",
            Suite::Sync,
            "namespaced-sync: pushes and pulls of one namespace never touch another",
            namespaces_apart
        ),
        check!(
            "sync.two-phase",
            Suite::Sync,
            "two-phase-sync: prepare-push then commit-push equals a push and clears dirty state",
            two_phase
        ),
        check!(
            "sync.preview-push",
            Suite::Sync,
            "preview-push: counts new, changed and deleted files exactly and changes nothing",
            preview_push
        ),
    ]
}
