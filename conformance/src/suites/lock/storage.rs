//! Where the lock lives beneath the component: swamp's own place for it, and
//! a stored lock nobody can read.

use super::{held, nonce_of};
use crate::framework::{Ctx, OrFail, Outcome, ensure, fail};
use swamp_host::{DatastoreError, HostError, LockOptions};

/// swamp's global lock key (its default).
pub(super) const GLOBAL_KEY: &str = ".datastore.lock";

/// The lock file of `key` on a datastore that is a local directory (the
/// check's datastore is a mounted directory and the datastore path lies in
/// it), as swamp's filesystem lock names it; `None` (the check is
/// skipped) otherwise.
fn local_lock_file(f: &crate::framework::Fixture, key: &str) -> Option<std::path::PathBuf> {
    let mounted = f.cx.isolated_dir(&f.config)?;
    let dir = std::path::Path::new(&f.datastore_path);
    (dir.is_absolute() && dir.starts_with(&mounted) && dir.is_dir()).then(|| dir.join(key))
}

/// Where a check reads or plants lock `key` beneath the component: the
/// lock file in a local datastore directory, else the object through the
/// subject's raw store (a bucket), where swamp's own datastores keep it.
enum LockPlace {
    File(std::path::PathBuf),
    Raw(crate::raw_store::Raw, String),
}

impl LockPlace {
    fn of(f: &crate::framework::Fixture, key: &str) -> Option<LockPlace> {
        if let Some(file) = local_lock_file(f, key) {
            return Some(LockPlace::File(file));
        }
        if f.cx.isolated_dir(&f.config).is_some() {
            return None; // a local directory that does not hold the datastore path
        }
        f.cx.raw(&f.config)
            .map(|r| LockPlace::Raw(r, key.to_string()))
    }
    fn read(&self) -> Result<Option<Vec<u8>>, String> {
        match self {
            LockPlace::File(p) => match std::fs::read(p) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("{}: {e}", p.display())),
            },
            LockPlace::Raw(r, key) => r.get(key),
        }
    }
    fn plant(&self, bytes: &[u8]) -> Result<(), String> {
        match self {
            LockPlace::File(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::write(p, bytes).map_err(|e| e.to_string())
            }
            LockPlace::Raw(r, key) => r.put(key, bytes),
        }
    }
    /// Remove what was planted (a local file; a bucket's objects stay
    /// under the check's own prefix).
    fn clear(&self) {
        if let LockPlace::File(p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
    fn describe(&self) -> String {
        match self {
            LockPlace::File(p) => p.display().to_string(),
            LockPlace::Raw(r, key) => r.describe(key),
        }
    }
}

pub(super) async fn where_swamp_puts_it(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    let model_key = "data/conformance/m1/.lock";
    if LockPlace::of(&f, GLOBAL_KEY).is_none() {
        crate::framework::skip!(
            "the datastore path {:?} is not a local directory and no raw store was given to look beneath the component",
            f.datastore_path
        );
    }
    for key in [GLOBAL_KEY, model_key] {
        let place = LockPlace::of(&f, key).expect("checked above");
        let lock = f
            .lock(LockOptions::with_key(key).ttl_ms(5_000).max_wait_ms(2_000))
            .await?;
        lock.acquire().await.or_fail(&format!("acquire {key}"))?;
        let nonce = nonce_of(&held(&lock, &format!("after acquiring {key}")).await?)?;
        let stored = place.read();
        let _ = lock.release().await;
        let bytes = match stored {
            Ok(Some(b)) => b,
            Ok(None) => fail!(
                "holding {key}, there is no lock at {}: swamp's own datastore of this kind looks there, so the two would not exclude each other",
                place.describe()
            ),
            Err(e) => fail!("holding {key}, reading {}: {e}", place.describe()),
        };
        let info: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            crate::framework::Status::Fail(format!(
                "{} is not LockInfo JSON ({e})",
                place.describe()
            ))
        })?;
        ensure!(
            info.get("nonce").and_then(|n| n.as_str()) == Some(nonce.as_str()),
            "{} holds nonce {:?}, the holder's is {nonce}",
            place.describe(),
            info.get("nonce")
        );
        ensure!(
            matches!(place.read(), Ok(None)),
            "release left {} behind",
            place.describe()
        );
    }
    Ok(())
}

/// Lock bodies nobody can read as a LockInfo, from the hostile input
/// corpus (`hostile/lock/`, where each case says why it is there), plus one
/// cut off mid-write by a client without atomic publish.
const CORRUPT_LOCK_BODIES: [(&str, &[u8]); 10] = [
    (
        "half-written",
        br#"{"holder":"ann@box","hostname":"box","pid":4242,"acquiredAt":"2026-"#,
    ),
    (
        "acquired-at-garbage",
        include_bytes!("../../../hostile/lock/acquired-at-garbage.json"),
    ),
    ("empty", include_bytes!("../../../hostile/lock/empty.json")),
    (
        "missing-fields",
        include_bytes!("../../../hostile/lock/missing-fields.json"),
    ),
    (
        "non-utf8-holder",
        include_bytes!("../../../hostile/lock/non-utf8-holder.json"),
    ),
    (
        "not-json",
        include_bytes!("../../../hostile/lock/not-json.json"),
    ),
    (
        "pid-string",
        include_bytes!("../../../hostile/lock/pid-string.json"),
    ),
    (
        "truncated",
        include_bytes!("../../../hostile/lock/truncated.json"),
    ),
    (
        "ttl-float",
        include_bytes!("../../../hostile/lock/ttl-float.json"),
    ),
    (
        "ttl-negative",
        include_bytes!("../../../hostile/lock/ttl-negative.json"),
    ),
];

pub(super) async fn corrupt_file_held(cx: Ctx) -> Outcome {
    let f = cx.fixture().await?;
    if LockPlace::of(&f, GLOBAL_KEY).is_none() {
        crate::framework::skip!(
            "the datastore path {:?} is not a local directory the suite can plant a lock file in, and no raw store was given",
            f.datastore_path
        );
    }
    for (i, (case, planted)) in CORRUPT_LOCK_BODIES.iter().enumerate() {
        let key = format!("data/conformance/corrupt-{i}/.lock");
        let place = LockPlace::of(&f, &key).expect("checked above");
        place
            .plant(planted)
            .map_err(|e| crate::framework::Status::Fail(format!("planting a lock file: {e}")))?;
        let lock = f
            .lock(
                LockOptions::with_key(key.as_str())
                    .ttl_ms(30_000)
                    .retry_interval_ms(50)
                    .max_wait_ms(300),
            )
            .await?;
        let seen = lock.inspect().await;
        let outcome = lock.acquire().await;
        let after = place.read().ok().flatten();
        let _ = lock.release().await;
        place.clear();
        match seen {
            Err(HostError::Datastore(DatastoreError::CorruptData(_))) => {}
            Ok(None) => fail!(
                "{case} lock file: inspect said \"no lock\" (expected corrupt-data: a lock file is there that nobody can read)"
            ),
            Ok(Some(i)) => fail!("{case} lock file: inspect made a lock out of it: {i:?}"),
            Err(e) => fail!("{case} lock file: inspect: expected corrupt-data, got {e}"),
        }
        match outcome {
            Err(HostError::Datastore(DatastoreError::LockTimeout { .. })) => {}
            Ok(()) => fail!(
                "{case} lock file: an acquire took it over at once (it may be a holder still writing it)"
            ),
            Err(e) => fail!("{case} lock file: acquire: expected lock-timeout, got {e}"),
        }
        ensure!(
            after.as_deref() == Some(*planted),
            "{case} lock file: it was changed or removed by a failed acquire"
        );
    }
    Ok(())
}
