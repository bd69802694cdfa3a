//! The sidecar's on-disk JSON shape (swamp's v2 fields plus our `wasm`
//! key) and its conversion to and from [`Sidecar`]. Kept apart from the
//! state itself because it is the part shared with swamp's TypeScript
//! client: the field names, the ETag rules and the conservative import of
//! the original's sidecar all live here, and the format they implement is
//! described in the `state` module docs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{SIDECAR_VERSION, Sidecar, Synced};
use crate::rel_path::RelPath;
use crate::sync::dirty::DirtyState;
use crate::sync::remote::Fingerprint;

/// Largest epoch our extension may carry (2^53 − 1: swamp's client keeps
/// our key when it rewrites the sidecar, and holds no larger integer
/// exactly; marking one change at a time never gets near it).
const MAX_EPOCH: u64 = (1 << 53) - 1;

impl Sidecar {
    /// The state sidecar bytes describe: ours exactly, the original's
    /// conservatively (`state` module docs); corrupt or foreign ⇒
    /// [`Sidecar::unknown`]. Pure, so the format can be checked (and
    /// fuzzed) without a disk.
    pub fn from_json(bytes: &[u8]) -> Sidecar {
        match serde_json::from_slice::<Wire>(bytes) {
            Ok(w) => w.into_state(),
            Err(_) => Sidecar::unknown(),
        }
    }

    /// The sidecar bytes for this state (pretty JSON, as written to disk).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&Wire::from_state(self)).unwrap_or_default()
    }
}

/// An ETag without its quotes (and weak prefix), as the original stores it.
pub(super) fn unquote(etag: &str) -> &str {
    let e = etag.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    e.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(e)
}

/// True for what the original refuses to record: "" and multipart-looking
/// ETags (`…-<digits>`).
fn refused_etag(etag: &str) -> bool {
    if etag.is_empty() {
        return true;
    }
    match etag.rsplit_once('-') {
        Some((_, n)) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// The value of the shared `remoteIndexETag` field for `fp`.
fn shared_etag(fp: Option<&Fingerprint>, commit_seq: Option<u64>) -> String {
    match (commit_seq, fp) {
        (None, Some(fp)) => {
            let e = unquote(&fp.0);
            if refused_etag(e) {
                String::new()
            } else {
                e.to_string()
            }
        }
        _ => String::new(),
    }
}

/// The sidecar on disk: swamp's v2 fields plus our extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    version: u32,
    #[serde(default)]
    remote_index_e_tag: Option<String>,
    #[serde(default)]
    last_verified_at: Option<String>,
    #[serde(default)]
    local_dirty: Option<bool>,
    #[serde(default)]
    dirty_paths: Option<Vec<String>>,
    #[serde(default)]
    bulk_invalidated: Option<bool>,
    #[serde(default)]
    lazy_pull_active: Option<bool>,
    #[serde(default)]
    dirty_paths_overflowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit_seq: Option<u64>,
    /// Only read, to spot a namespaced cache of the original.
    #[serde(default, skip_serializing)]
    data_key_migrated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wasm: Option<Ext>,
}

/// Our extension: what the shared fields cannot say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ext {
    epoch: u64,
    #[serde(default)]
    path_epochs: BTreeMap<String, u64>,
    #[serde(default)]
    bulk_since: Option<u64>,
    #[serde(default)]
    prepare_pending: Option<u64>,
    /// The exact monolith fingerprint (quotes included).
    #[serde(default)]
    fingerprint: Option<Fingerprint>,
    /// [`Sidecar::verify_on_push`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    verify_on_push: bool,
}

impl Wire {
    fn from_state(s: &Sidecar) -> Wire {
        let d = &s.dirty;
        Wire {
            version: SIDECAR_VERSION,
            remote_index_e_tag: Some(shared_etag(
                s.remote_index_fingerprint.as_ref(),
                s.commit_seq,
            )),
            last_verified_at: Some(s.last_verified_at.clone()),
            local_dirty: Some(d.is_dirty()),
            dirty_paths: Some(d.dirty_paths.keys().cloned().collect()),
            bulk_invalidated: Some(d.bulk_since.is_some()),
            lazy_pull_active: Some(s.lazy_pull_active),
            dirty_paths_overflowed: Some(d.overflowed),
            commit_seq: s.commit_seq,
            data_key_migrated: None,
            wasm: Some(Ext {
                epoch: d.epoch,
                path_epochs: d.dirty_paths.clone(),
                bulk_since: d.bulk_since,
                prepare_pending: d.prepare_pending,
                fingerprint: s
                    .commit_seq
                    .is_none()
                    .then(|| s.remote_index_fingerprint.clone())
                    .flatten(),
                verify_on_push: s.verify_on_push,
            }),
        }
    }

    /// The state this sidecar describes.
    fn into_state(self) -> Sidecar {
        if self.version != SIDECAR_VERSION {
            return Sidecar::unknown();
        }
        if let Some(own) = self.own_state()
            && Wire::from_state(&own).shared_eq(&self)
        {
            return own;
        }
        self.imported()
    }

    /// The exact state from our extension, if there is one we can trust.
    fn own_state(&self) -> Option<Sidecar> {
        let x = self.wasm.as_ref()?;
        // Caught by the `index` fuzz properties (fuzz/regressions/index): a path
        // here is handed to the push planner, which stats, walks and
        // deletes below it, so it must be a clean relative path like every
        // other; epochs must leave room to count on (u64::MAX overflowed
        // the next mark) and none may run ahead of the counter (such a path
        // stayed dirty after every push). Otherwise the extension is
        // ignored and the shared fields are imported (checked) instead.
        let clean = x.path_epochs.keys().all(|p| RelPath::is_normal(p));
        let counted = x.epoch <= MAX_EPOCH
            && x.path_epochs
                .values()
                .chain(x.bulk_since.iter())
                .chain(x.prepare_pending.iter())
                .all(|e| *e <= x.epoch);
        if !(clean && counted) {
            return None;
        }
        let mut s = Sidecar {
            version: SIDECAR_VERSION,
            remote_index_fingerprint: None,
            commit_seq: None,
            last_verified_at: self.last_verified_at.clone().unwrap_or_default(),
            lazy_pull_active: self.lazy_pull_active.unwrap_or(false),
            dirty: DirtyState {
                epoch: x.epoch,
                dirty_paths: x.path_epochs.clone(),
                bulk_since: x.bulk_since,
                overflowed: self.dirty_paths_overflowed.unwrap_or(false),
                prepare_pending: x.prepare_pending,
            },
            verify_on_push: x.verify_on_push,
        };
        s.set_synced(match (self.commit_seq, &x.fingerprint) {
            (Some(n), _) => Some(Synced::Sharded(n)),
            (None, Some(fp)) => Some(Synced::Monolith(fp.clone())),
            (None, None) => None,
        });
        Some(s)
    }

    /// Whether the fields the original reads and writes agree.
    fn shared_eq(&self, o: &Wire) -> bool {
        self.remote_index_e_tag == o.remote_index_e_tag
            && self.local_dirty == o.local_dirty
            && self.dirty_paths.as_deref().map(sorted) == o.dirty_paths.as_deref().map(sorted)
            && self.bulk_invalidated == o.bulk_invalidated
            && self.lazy_pull_active == o.lazy_pull_active
            && self.dirty_paths_overflowed == o.dirty_paths_overflowed
            && self.commit_seq == o.commit_seq
    }

    /// The original's sidecar, imported conservatively (`state` module docs).
    fn imported(self) -> Sidecar {
        let paths = self.dirty_paths.unwrap_or_default();
        let clean_paths = paths.iter().all(|p| RelPath::is_normal(p));
        let bulk = self.bulk_invalidated != Some(false)
            || self.local_dirty.is_none()
            || self.dirty_paths_overflowed == Some(true)
            || (self.local_dirty == Some(true) && paths.is_empty())
            || self.data_key_migrated.is_some()
            || !clean_paths;
        let paths = if clean_paths { paths } else { Vec::new() };
        Sidecar {
            version: SIDECAR_VERSION,
            remote_index_fingerprint: None,
            commit_seq: None,
            last_verified_at: self.last_verified_at.unwrap_or_default(),
            lazy_pull_active: self.lazy_pull_active.unwrap_or(false),
            dirty: DirtyState::imported(paths, bulk),
            verify_on_push: true,
        }
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}
