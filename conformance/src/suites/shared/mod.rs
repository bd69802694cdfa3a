//! The shared-store calls (`wit/shared-store.wit`): control records,
//! catalog exports, foreign content and contamination repair. Each check
//! runs only when the sync service advertises the feature it exercises; a
//! component built against WIT 0.1.0 advertises none.
//!
//! Records are read back through a second sync service (its own instance
//! and cache), so nothing a guest keeps in memory can stand in for the
//! store. Each check works in namespaces of its own, so checks that share
//! one datastore do not meet.
//!
//! The checks are in files along the three shared features: `control.rs`
//! (the control-plane feature: control records read back, namespaces
//! apart, put-if-absent racing, bad keys refused), `catalogs.rs` (the
//! catalogs feature: catalog exports and foreign content) and
//! `contamination.rs` (the contamination-repair feature). This file holds
//! the catalogue and the helpers the checks share: the sync service with
//! a feature advertised, the invalid-argument test, a snapshot of a
//! directory and a deterministic body.

mod catalogs;
mod contamination;
mod control;

use crate::framework::{Check, Ctx, Fixture, OrFail, Outcome, Status, Suite, check, fail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use swamp_host::{DatastoreError, HostError, HostResult, SharedFeatures, SyncService};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "shared.control-round-trip",
            Suite::Shared,
            "control records of 0 bytes to 300 KiB, binary or text, are read back byte for byte by another instance; overwrite, delete (twice), absent reads as none; list returns the sorted keys with the prefix, relative to the control prefix",
            control::control_round_trip
        ),
        check!(
            "shared.control-namespaces-apart",
            Suite::Shared,
            "one control key in the root and in two namespaces holds three records; list, delete and put-if-absent in one leave the others; where the datastore is a local directory they sit at swamp's keys [{ns}/]_control/{key}",
            control::control_namespaces_apart
        ),
        check!(
            "shared.control-put-if-absent-atomic",
            Suite::Shared,
            "eight instances racing put-if-absent on one key, five rounds: exactly one creates it and the stored record is the winner's; on an existing key it answers false and changes nothing",
            control::control_put_if_absent_atomic
        ),
        check!(
            "shared.control-keys-refused",
            Suite::Shared,
            "control keys and list prefixes that are empty, absolute, contain '.' or '..' segments, NUL or a backslash are refused with invalid-argument by every call, and nothing stored changes",
            control::control_keys_refused
        ),
        check!(
            "shared.catalog-export",
            Suite::Shared,
            "export-catalog stores the rows byte for byte, skips unchanged rows, refuses rows that are not a JSON array; pull-foreign-catalogs returns the exports that exist and are JSON arrays, in order, and skips missing and malformed ones",
            catalogs::catalog_export
        ),
        check!(
            "shared.foreign-content",
            Suite::Shared,
            "fetch-foreign-content returns a file another namespace pushed, byte for byte (0 bytes and 1 MiB), none when absent or in another namespace, refuses traversal, and writes nothing into the cache",
            catalogs::foreign_content
        ),
        check!(
            "shared.contamination-repair",
            Suite::Shared,
            "repair-namespace-contamination finds a registered namespace's objects inside another namespace; a dry run counts them and deletes nothing; a repair deletes exactly them, a fresh pull then brings only the namespace's own files, and the foreign namespace itself is untouched",
            contamination::contamination_repair
        ),
    ]
}

/// A sync service (`cache-a`) whose shared features include `want`, or a
/// skip naming the feature.
async fn service(
    cx: &Ctx,
    want: fn(&SharedFeatures) -> bool,
    what: &str,
) -> Result<(Fixture, SyncService, PathBuf), Status> {
    let f = cx.fixture().await?;
    let (svc, cache) = f.sync("cache-a").await?;
    let features = svc
        .shared_features()
        .await
        .or_fail("shared-store features")?;
    if !want(&features) {
        return Err(Status::Skipped(if features == SharedFeatures::default() {
            format!(
                "{what} is not advertised (no shared-store feature is; a component built against WIT 0.1.0 has none)"
            )
        } else {
            format!("{what} is not advertised")
        }));
    }
    Ok((f, svc, cache))
}

fn is_invalid_argument(r: &HostError) -> bool {
    matches!(r, HostError::Datastore(DatastoreError::InvalidArgument(_)))
}

/// Fail unless `r` is an invalid-argument error.
fn expect_refused<T: std::fmt::Debug>(what: &str, r: HostResult<T>) -> Outcome {
    match r {
        Err(e) if is_invalid_argument(&e) => Ok(()),
        Err(e) => fail!("{what}: expected invalid-argument, got the error {e}"),
        Ok(v) => fail!("{what}: expected invalid-argument, the call succeeded with {v:?}"),
    }
}

/// Every file under `dir` with its bytes (empty when `dir` is absent).
fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, Status> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).or_fail("reading the datastore directory")?;
                out.insert(p, bytes);
            }
        }
    }
    Ok(out)
}

/// A deterministic binary body of `len` bytes.
fn body(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ salt)
        .collect()
}
