//! Dirty tracking: the eight `mark-dirty` rules as a small state machine.
//! Rule numbers are those of `mark-dirty` in `wit/sync.wit` and of
//! docs/contract.md §4.2.
//!
//! * A per-path set records the paths announced before a write (rules 1, 5,
//!   7); a path already covered (itself or an ancestor) is a no-op, so the
//!   call is idempotent and cheap.
//! * No path, or a set grown past [`MAX_DIRTY_PATHS`], means bulk: the next
//!   push walks everything (rules 3, 6). While bulk is pending, per-path
//!   signals add nothing (rule 8); recorded paths are kept, since they still
//!   say which subtrees were deleted on purpose (rule 2; the original loses
//!   them: docs/contract.md §10.4).
//! * The state is persisted by the caller in the sidecar (rule 4); a
//!   missing sidecar starts as [`DirtyState::unknown`], i.e. bulk. In the
//!   sidecar the path set and the bulk flag are swamp's own `dirtyPaths` /
//!   `bulkInvalidated` fields; the epochs live in our extension (`state`).
//!   A sidecar written by swamp's TypeScript client has no epochs: its
//!   signals come back through [`DirtyState::imported`].
//! * Every state change takes a new epoch. A two-phase push remembers the
//!   epoch it prepared at; commit clears only what was marked at or before
//!   it, so a mark that lands between prepare and commit is never lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rel_path::is_within;

/// Per-path signals beyond which the set collapses into a bulk signal.
pub const MAX_DIRTY_PATHS: usize = 200;

/// What the next push has to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walk {
    /// Nothing changed locally since the last push.
    Clean,
    /// Only these paths (files or directories) changed.
    Paths(Vec<String>),
    /// Anything may have changed: walk the whole tree.
    Full,
}

/// Persisted dirty state of one sync root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirtyState {
    /// Change counter; each state change takes the next value.
    pub epoch: u64,
    /// Recorded paths and the epoch of their latest mark.
    #[serde(default)]
    pub dirty_paths: BTreeMap<String, u64>,
    /// Epoch of the pending bulk signal, if any.
    #[serde(default)]
    pub bulk_since: Option<u64>,
    /// The bulk signal came from overflowing the per-path set.
    #[serde(default)]
    pub overflowed: bool,
    /// Epoch at which a prepared (two-phase) push awaits its commit.
    #[serde(default)]
    pub prepare_pending: Option<u64>,
}

impl DirtyState {
    /// State for a root whose history is unknown (no sidecar, process
    /// restart without persistence): the first push must walk everything.
    pub fn unknown() -> DirtyState {
        DirtyState {
            epoch: 1,
            bulk_since: Some(1),
            ..DirtyState::default()
        }
    }

    /// State imported from a sidecar without epochs (swamp's TypeScript
    /// client): the `paths` are dirty and `bulk` is pending, all at one
    /// fresh epoch, nothing prepared. More paths than [`MAX_DIRTY_PATHS`]
    /// collapse into bulk, as marking them one by one would.
    pub fn imported(paths: impl IntoIterator<Item = String>, bulk: bool) -> DirtyState {
        let mut d = DirtyState {
            epoch: 1,
            bulk_since: bulk.then_some(1),
            ..DirtyState::default()
        };
        for p in paths {
            d.insert_capped(&p, 1);
        }
        d
    }

    fn next_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// True when `epoch` predates the pending prepare, i.e. a prepared push
    /// already covers it and a new mark must be recorded afresh.
    fn stale_for_prepare(&self, epoch: u64) -> bool {
        self.prepare_pending.is_some_and(|p| epoch <= p)
    }

    /// Record that `rel` (a normalised bare rel) is about to change.
    /// Returns whether the state changed and must be persisted.
    pub fn mark_path(&mut self, rel: &str) -> bool {
        if let Some(b) = self.bulk_since {
            // Rule 8: the bulk walk covers it. Only refresh the bulk epoch
            // when a prepared push already took the current one.
            if self.stale_for_prepare(b) {
                self.bulk_since = Some(self.next_epoch());
                return true;
            }
            return false;
        }
        let covering = self
            .dirty_paths
            .iter()
            .find(|(p, _)| is_within(rel, p))
            .map(|(p, e)| (p.clone(), *e));
        if let Some((p, e)) = covering {
            if !self.stale_for_prepare(e) {
                return false;
            }
            let ep = self.next_epoch();
            if p == rel {
                self.dirty_paths.insert(p, ep);
            } else {
                self.insert_capped(rel, ep);
            }
            return true;
        }
        let ep = self.next_epoch();
        self.insert_capped(rel, ep);
        true
    }

    fn insert_capped(&mut self, rel: &str, ep: u64) {
        if self.dirty_paths.len() >= MAX_DIRTY_PATHS && !self.dirty_paths.contains_key(rel) {
            self.bulk_since = Some(ep);
            self.overflowed = true;
        } else {
            self.dirty_paths.insert(rel.to_string(), ep);
        }
    }

    /// Record a bulk mutation (no rel-path). Returns whether the state
    /// changed and must be persisted.
    pub fn mark_bulk(&mut self) -> bool {
        if let Some(b) = self.bulk_since
            && !self.stale_for_prepare(b)
        {
            return false;
        }
        self.bulk_since = Some(self.next_epoch());
        true
    }

    /// Anything pending.
    pub fn is_dirty(&self) -> bool {
        self.bulk_since.is_some() || !self.dirty_paths.is_empty()
    }

    /// What the next push must look at.
    pub fn walk(&self) -> Walk {
        if self.bulk_since.is_some() {
            Walk::Full
        } else if self.dirty_paths.is_empty() {
            Walk::Clean
        } else {
            Walk::Paths(self.dirty_paths.keys().cloned().collect())
        }
    }

    /// Paths recorded explicitly (also under a bulk signal).
    pub fn recorded_paths(&self) -> Vec<String> {
        self.dirty_paths.keys().cloned().collect()
    }

    /// Note that a prepared push now covers everything marked so far.
    pub fn begin_prepare(&mut self) -> u64 {
        self.prepare_pending = Some(self.epoch);
        self.epoch
    }

    /// A push that started at `through` succeeded: forget the `covered`
    /// paths and (when `full`) the bulk signal, unless marked again after
    /// `through`.
    pub fn clear_through(&mut self, through: u64, covered: &[String], full: bool) {
        for p in covered {
            if self.dirty_paths.get(p).is_some_and(|e| *e <= through) {
                self.dirty_paths.remove(p);
            }
        }
        if full && self.bulk_since.is_some_and(|b| b <= through) {
            self.bulk_since = None;
            self.overflowed = false;
        }
        if self.prepare_pending.is_some_and(|p| p <= through) {
            self.prepare_pending = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_path_marks_are_recorded_once() {
        let mut d = DirtyState::default();
        assert_eq!(d.walk(), Walk::Clean);
        assert!(d.mark_path("data/a"));
        assert!(!d.mark_path("data/a")); // idempotent
        assert!(!d.mark_path("data/a/b/raw")); // covered by its directory
        assert!(d.mark_path("data/ab"));
        assert_eq!(
            d.walk(),
            Walk::Paths(vec!["data/a".into(), "data/ab".into()])
        );
    }

    #[test]
    fn bulk_overrides_later_per_path_signals() {
        let mut d = DirtyState::default();
        d.mark_path("x");
        assert!(d.mark_bulk());
        assert!(!d.mark_bulk());
        assert!(!d.mark_path("y")); // rule 8
        assert_eq!(d.walk(), Walk::Full);
        // Explicit paths are kept for deletion signals.
        assert_eq!(d.recorded_paths(), vec!["x".to_string()]);
        let e = d.epoch;
        d.clear_through(e, &d.recorded_paths(), true);
        assert_eq!(d.walk(), Walk::Clean);
    }

    #[test]
    fn overflowing_the_cap_turns_into_bulk() {
        let mut d = DirtyState::default();
        for i in 0..MAX_DIRTY_PATHS {
            assert!(d.mark_path(&format!("f{i}")));
        }
        assert!(matches!(d.walk(), Walk::Paths(p) if p.len() == MAX_DIRTY_PATHS));
        assert!(d.mark_path("one-more"));
        assert!(d.overflowed);
        assert_eq!(d.walk(), Walk::Full);
    }

    #[test]
    fn unknown_history_means_full_walk() {
        assert_eq!(DirtyState::unknown().walk(), Walk::Full);
    }

    #[test]
    fn marks_after_a_prepare_survive_its_commit() {
        let mut d = DirtyState::default();
        d.mark_path("a");
        d.mark_path("b");
        let at = d.begin_prepare();
        // Re-marking a prepared path after prepare is recorded afresh.
        assert!(d.mark_path("a"));
        assert!(d.mark_path("c"));
        d.clear_through(at, &["a".into(), "b".into()], false);
        assert_eq!(d.walk(), Walk::Paths(vec!["a".into(), "c".into()]));
        assert_eq!(d.prepare_pending, None);
    }

    #[test]
    fn bulk_after_a_prepare_survives_its_commit() {
        let mut d = DirtyState::default();
        d.mark_bulk();
        let at = d.begin_prepare();
        assert!(d.mark_path("z")); // refreshes bulk
        d.clear_through(at, &[], true);
        assert_eq!(d.walk(), Walk::Full);
        // Without a prepare in between, a full push clears bulk.
        let e = d.epoch;
        d.clear_through(e, &[], true);
        assert_eq!(d.walk(), Walk::Clean);
    }

    #[test]
    fn partial_clear_keeps_uncovered_paths() {
        let mut d = DirtyState::default();
        d.mark_path("data/m1");
        d.mark_path("data/m2");
        let e = d.epoch;
        d.clear_through(e, &["data/m1".into()], false);
        assert_eq!(d.walk(), Walk::Paths(vec!["data/m2".into()]));
    }

    #[test]
    fn imported_state_is_at_one_fresh_epoch() {
        let d = DirtyState::imported(["b".to_string(), "a".to_string()], false);
        assert_eq!(d.walk(), Walk::Paths(vec!["a".into(), "b".into()]));
        assert_eq!(d.epoch, 1);
        assert!(d.dirty_paths.values().all(|e| *e == 1));
        assert_eq!(DirtyState::imported([], true).walk(), Walk::Full);
        assert_eq!(DirtyState::imported([], false).walk(), Walk::Clean);
        let many = (0..=MAX_DIRTY_PATHS).map(|i| format!("f{i}"));
        let d = DirtyState::imported(many, false);
        assert_eq!(d.walk(), Walk::Full);
        assert!(d.overflowed);
        // A later mark still takes a newer epoch.
        let mut d = DirtyState::imported(["a".to_string()], false);
        let at = d.begin_prepare();
        assert!(d.mark_path("a"));
        d.clear_through(at, &["a".into()], false);
        assert_eq!(d.walk(), Walk::Paths(vec!["a".into()]));
    }

    #[test]
    fn serde_round_trip() {
        let mut d = DirtyState::default();
        d.mark_path("a/b");
        let s = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<DirtyState>(&s).unwrap(), d);
    }
}
