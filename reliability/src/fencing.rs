//! Pauses and fencing: holder A, frozen past its TTL (the host stops its
//! heartbeats, as a stopped process or a long GC pause would), is taken over
//! by B. When A resumes, its heartbeat fails with `lock-lost` and its release
//! leaves B's lock alone; B's work, done while holding, is intact, and B
//! releases cleanly.
//!
//! A and B each have a host of their own, as two processes would.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde::Serialize;
use swamp_host::{DatastoreError, HostError, LockOptions};

use crate::Remote;

/// What a fencing run observed.
#[derive(Debug, Clone, Serialize)]
pub struct FencingReport {
    pub backend: String,
    /// A's lease.
    pub ttl_ms: u64,
    /// From A's acquire to B's successful takeover.
    pub takeover_after_ms: f64,
    /// The error kind A's heartbeat got after resuming.
    pub heartbeat_error_kind: String,
    pub heartbeat_error: String,
}

const KEY: &str = "reliability/fence.lock";

/// The nonce in the stored lock, read directly from the store.
fn stored_nonce(remote: &Remote) -> Result<Option<String>> {
    let Some(bytes) = remote.get(KEY)? else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("the stored lock {KEY} is not JSON"))?;
    Ok(v["nonce"].as_str().map(str::to_string))
}

/// Run the scenario with A's lease `ttl_ms` (S3 judges staleness on the
/// server's clock, with one-second resolution: give it at least 1000).
pub async fn run(remote: &Remote, ttl_ms: u64) -> Result<FencingReport> {
    let compile_cache = remote.scratch().join("compiled");
    let path = remote.datastore_path()?;
    let host_a = crate::host(&compile_cache)?;
    let host_b = crate::host(&compile_cache)?;
    let a = crate::open(&host_a, remote, false)
        .await?
        .create_lock(
            &path,
            LockOptions::with_key(KEY)
                .ttl_ms(ttl_ms)
                .retry_interval_ms(50)
                .max_wait_ms(5_000),
        )
        .await
        .map_err(|e| anyhow!("A create-lock: {e}"))?;
    let b = crate::open(&host_b, remote, false)
        .await?
        .create_lock(
            &path,
            LockOptions::with_key(KEY)
                .ttl_ms(30_000)
                .retry_interval_ms(100)
                .max_wait_ms(ttl_ms * 4 + 10_000),
        )
        .await
        .map_err(|e| anyhow!("B create-lock: {e}"))?;

    let t = Instant::now();
    a.acquire().await.map_err(|e| anyhow!("A acquire: {e}"))?;
    let a_nonce = a
        .inspect()
        .await
        .map_err(|e| anyhow!("A inspect: {e}"))?
        .and_then(|i| i.nonce)
        .ok_or_else(|| anyhow!("A holds the lock but inspect shows no nonce"))?;
    // Freeze A: no heartbeats from now on.
    a.pause_heartbeats(true);

    b.acquire()
        .await
        .map_err(|e| anyhow!("B could not take over A's expired lock: {e}"))?;
    let takeover = t.elapsed();
    ensure!(
        takeover >= Duration::from_millis(ttl_ms.min(1_000)),
        "B took the lock after {takeover:?}, before A's lease of {ttl_ms} ms can have expired"
    );
    let b_nonce = b
        .inspect()
        .await
        .map_err(|e| anyhow!("B inspect: {e}"))?
        .and_then(|i| i.nonce)
        .ok_or_else(|| anyhow!("B holds the lock but inspect shows no nonce"))?;
    ensure!(b_nonce != a_nonce, "B's takeover kept A's nonce {a_nonce}");

    // B's work under the lock: a file only B writes.
    let work = remote.scratch().join("fencing-work");
    std::fs::write(&work, format!("written by B holding {b_nonce}"))?;

    // A resumes: its heartbeat must say the lock is lost, and must not
    // overwrite B's lock.
    a.pause_heartbeats(false);
    let hb = a.heartbeat().await;
    let (kind, message) = match hb {
        Err(HostError::Datastore(e @ DatastoreError::LockLost(_))) => {
            (e.kind().to_string(), e.to_string())
        }
        other => bail!("A's heartbeat after the takeover must fail with lock-lost, got {other:?}"),
    };
    ensure!(
        a.lost().is_some(),
        "the host must report A's lock as lost after the failed heartbeat"
    );
    ensure!(
        stored_nonce(remote)?.as_deref() == Some(b_nonce.as_str()),
        "A's heartbeat changed the stored lock: it no longer holds B's nonce"
    );

    // A's release must not delete B's lock.
    a.release()
        .await
        .map_err(|e| anyhow!("A's release after losing the lock must end cleanly: {e}"))?;
    let seen = b
        .inspect()
        .await
        .map_err(|e| anyhow!("B inspect: {e}"))?
        .and_then(|i| i.nonce);
    ensure!(
        seen.as_deref() == Some(b_nonce.as_str()),
        "after A's release the lock shows {seen:?}, not B's nonce {b_nonce}"
    );
    ensure!(
        stored_nonce(remote)?.as_deref() == Some(b_nonce.as_str()),
        "after A's release the stored lock no longer holds B's nonce"
    );
    // B still holds it: its own heartbeat succeeds and it lost nothing.
    b.heartbeat()
        .await
        .map_err(|e| anyhow!("B's heartbeat after A's release: {e}"))?;
    ensure!(b.lost().is_none(), "B's lock was reported lost");
    ensure!(
        std::fs::read_to_string(&work)? == format!("written by B holding {b_nonce}"),
        "B's work was changed"
    );

    b.release().await.map_err(|e| anyhow!("B release: {e}"))?;
    ensure!(
        b.inspect()
            .await
            .map_err(|e| anyhow!("B inspect: {e}"))?
            .is_none(),
        "B's release left a lock behind"
    );
    ensure!(
        stored_nonce(remote)?.is_none() && remote.get(KEY)?.is_none(),
        "B's release left the lock object in the store"
    );
    Ok(FencingReport {
        backend: remote.backend().name().into(),
        ttl_ms,
        takeover_after_ms: takeover.as_secs_f64() * 1000.0,
        heartbeat_error_kind: kind,
        heartbeat_error: message,
    })
}
