//! The S3 lock (reference b.3) with the b.7 fixes:
//!
//! * create with `If-None-Match: *`; 412 **and 409** mean "lost the race";
//! * an ambiguous create (timeout, 5xx) is disambiguated by re-reading the
//!   object and comparing the nonce;
//! * staleness is judged by the server's clock only: the lock object's
//!   `Last-Modified` against the same response's `Date`, never the local
//!   clock; a stale lock is removed by a delete conditional on the ETag
//!   that was judged stale, so a fresh successor is never deleted;
//! * heartbeat = PUT with `If-Match: <our etag>`: a lock taken over is never
//!   overwritten, and losing it is reported (`lock-lost`);
//! * release and force-release delete with `If-Match` (with a nonce
//!   re-check first, and a fallback for servers without conditional
//!   deletes);
//! * jittered retry, `lock-timeout` naming the holder.
//!
//! Same key (`{prefix}/{lockKey}`) and `LockInfo` JSON as the original, so
//! mixed clients exclude each other.

use std::rc::Rc;
use std::time::{Duration, Instant};

use swamp_datastore_sdk::nonce::{new_nonce, random_below};
use swamp_datastore_sdk::{Error, HolderIdentity, LockInfo, LockOptions, RelPath, Result};

use crate::client::{Cond, Deadline, ObjectMeta, S3Client};
use crate::http::Transport;
use crate::retry::jitter;

/// Last-Modified and Date have one-second resolution: a lock is stale only
/// when its server-side age exceeds the TTL by more than this margin.
pub const CLOCK_GRANULARITY_MS: u64 = 1000;

/// How far an acquire's requests may run past its max-wait. The host stops
/// `lock.acquire` soon after max-wait (its budget plus half its grace, 5 s
/// by default): the guest must give up first, with a clear error, rather
/// than be cut off as a trap. A request timeout of 30 s retried 3 times
/// would otherwise outlast any wait.
const ACQUIRE_OVERRUN_MS: u64 = 2000;

/// The time left, after the wait ran out, to read the holder it names.
const HOLDER_READ_MS: u64 = 2000;

/// What this handle holds.
#[derive(Debug, Clone)]
struct Held {
    nonce: String,
    etag: String,
}

/// One lock key in one bucket.
pub struct S3Lock<T: Transport> {
    client: Rc<S3Client<T>>,
    key: String,
    object_key: String,
    ttl_ms: u64,
    retry_ms: u64,
    max_wait_ms: u64,
    identity: HolderIdentity,
    held: Option<Held>,
}

/// The current lock object, parsed.
struct Current {
    info: std::result::Result<LockInfo, Error>,
    meta: ObjectMeta,
}

impl<T: Transport> S3Lock<T> {
    /// A lock on `options.lock_key` (validated as a relative path). No I/O.
    pub fn new(
        client: Rc<S3Client<T>>,
        options: &LockOptions,
        identity: HolderIdentity,
    ) -> Result<S3Lock<T>> {
        let key = RelPath::parse(options.key(), "lock key")?.to_string();
        let object_key = client.config().full_key(&key);
        Ok(S3Lock {
            client,
            key,
            object_key,
            ttl_ms: options.ttl(),
            retry_ms: options.retry_interval().max(1),
            max_wait_ms: options.max_wait(),
            identity,
            held: None,
        })
    }

    fn target(&self) -> String {
        self.client.describe(&self.object_key)
    }

    /// Heartbeat, release, force-release and inspect: a request outliving
    /// the TTL is useless (the lease is over by then), and the host's call
    /// timeout would cut it off as a trap.
    fn deadline(&self) -> Deadline {
        Deadline::in_ms(self.ttl_ms.clamp(HOLDER_READ_MS, 50_000))
    }

    async fn read(&self) -> Result<Option<Current>> {
        self.read_by(self.deadline()).await
    }

    async fn read_by(&self, deadline: Deadline) -> Result<Option<Current>> {
        let got = self.client.get(&self.object_key, deadline).await?;
        let obj = got.map_err(|f| f.into_error("GetObject", &self.target()))?;
        Ok(obj.map(|o| Current {
            info: LockInfo::parse(&o.body, &self.target()),
            meta: o.meta,
        }))
    }

    fn body(&self, nonce: &str) -> LockInfo {
        LockInfo::new(&self.identity, self.ttl_ms, nonce)
    }

    /// Take the lock (see the module docs).
    pub async fn acquire(&mut self) -> Result<()> {
        if self.held.is_some() {
            return Err(Error::Conflict(format!(
                "lock {} is already held by this handle; release it first",
                self.key
            )));
        }
        let nonce = new_nonce();
        let start = Instant::now();
        // Every request of this acquire ends with the wait (see
        // ACQUIRE_OVERRUN_MS); a huge max-wait means no bound of our own.
        let deadline = Deadline(start.checked_add(Duration::from_millis(
            self.max_wait_ms.saturating_add(ACQUIRE_OVERRUN_MS),
        )));
        let mut pause_ms = self.retry_ms;
        let mut first = true;
        loop {
            let waited = start.elapsed().as_millis() as u64;
            // Checked from the second attempt on: an acquire always tries
            // once, however small max-wait is (swamp's packaged runtime
            // passes about 1 ms; checking first, no acquire ever succeeded).
            if !first && waited >= self.max_wait_ms {
                let holder = self
                    .read_by(Deadline::in_ms(HOLDER_READ_MS))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|c| c.info.ok());
                return Err(Error::LockTimeout {
                    lock_key: self.key.clone(),
                    holder,
                    waited_ms: waited,
                });
            }
            first = false;
            let body = self.body(&nonce).to_json().into_bytes();
            match self
                .client
                .put(&self.object_key, body, &Cond::Absent, deadline)
                .await?
            {
                Ok(meta) => {
                    self.held = Some(Held {
                        nonce,
                        etag: meta.etag,
                    });
                    return Ok(());
                }
                Err(f) if f.is_precondition() => {}
                Err(f) if f.is_ambiguous() => {
                    // The create may have landed: only the nonce can tell.
                    if let Some(c) = self.read_by(deadline).await?
                        && matches!(&c.info, Ok(i) if i.nonce.as_deref() == Some(nonce.as_str()))
                    {
                        self.held = Some(Held {
                            nonce,
                            etag: c.meta.etag,
                        });
                        return Ok(());
                    }
                }
                Err(f) => return Err(f.into_error("PutObject (create lock)", &self.target())),
            }
            // Lost the race: is the holder's lease over, by the server's clock?
            match self.read_by(deadline).await? {
                None => {
                    // Released meanwhile: try again at once (a short jitter
                    // keeps contenders from colliding in lockstep).
                    self.client
                        .transport()
                        .sleep(Duration::from_millis(random_below(50)))
                        .await;
                    continue;
                }
                Some(c) => {
                    let ttl = match &c.info {
                        Ok(i) => i.ttl_ms,
                        // An unreadable lock still expires, by the default TTL.
                        Err(_) => LockOptions::DEFAULT_TTL_MS,
                    };
                    let age = c.meta.server_age_ms();
                    // Saturating: a hostile body's ttlMs near u64::MAX must
                    // mean "never stale", not wrap to a tiny lease and be
                    // stolen (hostile corpus: lock/ttl-max.json).
                    if age.is_some_and(|a| a > ttl.saturating_add(CLOCK_GRANULARITY_MS)) {
                        let etag = c.meta.etag.clone();
                        let cond = if etag.is_empty() {
                            Cond::None
                        } else {
                            Cond::Etag(etag)
                        };
                        let _ = self
                            .client
                            .delete(&self.object_key, &cond, deadline)
                            .await?;
                        // Always back off after a steal so a holder's late
                        // heartbeat and other stealers settle.
                        self.client
                            .transport()
                            .sleep(Duration::from_millis(200 + random_below(301)))
                            .await;
                        continue;
                    }
                }
            }
            let remaining = self
                .max_wait_ms
                .saturating_sub(start.elapsed().as_millis() as u64);
            let pause = jitter(pause_ms).min(Duration::from_millis(remaining));
            self.client.transport().sleep(pause).await;
            pause_ms = (pause_ms * 2).min(self.retry_ms.saturating_mul(4).max(self.retry_ms));
        }
    }

    /// Extend the lease with a compare-and-swap on our ETag.
    pub async fn heartbeat(&mut self) -> Result<()> {
        let Some(mut held) = self.held.clone() else {
            return Err(Error::LockLost(format!(
                "lock {} is not held by this handle",
                self.key
            )));
        };
        for _ in 0..2 {
            let info = self.body(&held.nonce);
            let body = info.to_json().into_bytes();
            let f = match self
                .client
                .put(
                    &self.object_key,
                    body,
                    &Cond::Etag(held.etag.clone()),
                    self.deadline(),
                )
                .await?
            {
                Ok(meta) => {
                    self.held = Some(Held {
                        nonce: held.nonce,
                        etag: meta.etag,
                    });
                    return Ok(());
                }
                Err(f) if f.is_precondition() || f.status() == Some(404) || f.is_ambiguous() => f,
                Err(f) => return Err(f.into_error("PutObject (heartbeat)", &self.target())),
            };
            // Who holds it now? Only the nonce tells.
            let current = self.read().await?;
            let lost = |why: String| {
                Error::LockLost(format!(
                    "lock {} {why}; stop the work it protected",
                    self.key
                ))
            };
            match current {
                None => {
                    self.held = None;
                    return Err(lost(
                        "was deleted (force-released, or expired and removed)".into(),
                    ));
                }
                Some(Current { info: Err(_), .. }) => {
                    self.held = None;
                    return Err(lost("was replaced by an unreadable lock".into()));
                }
                Some(Current { info: Ok(i), .. })
                    if i.nonce.as_deref() != Some(held.nonce.as_str()) =>
                {
                    self.held = None;
                    return Err(lost(format!(
                        "was taken over by {} (pid {})",
                        i.holder, i.pid
                    )));
                }
                Some(Current { info: Ok(i), meta }) => {
                    held.etag = meta.etag;
                    self.held = Some(held.clone());
                    if i.acquired_at == info.acquired_at {
                        // Our write landed after all.
                        return Ok(());
                    }
                    if !f.is_precondition() {
                        // Still ours, not extended: the caller may retry.
                        return Err(f.into_error("PutObject (heartbeat)", &self.target()));
                    }
                    // Still ours under an ETag we did not know (an earlier
                    // write of ours landed late): CAS again on the current one.
                }
            }
        }
        Err(Error::Unavailable(format!(
            "heartbeat of lock {} did not settle; try again",
            self.key
        )))
    }

    /// Delete the lock object if it still carries `nonce`; `Ok(false)` when
    /// it is absent or someone else's.
    async fn delete_if_ours(&self, nonce: &str, etag_hint: Option<&str>) -> Result<bool> {
        // Set once a delete of ours may have landed without an answer.
        let mut maybe_deleted = false;
        for _ in 0..4 {
            let Some(c) = self.read().await? else {
                return Ok(maybe_deleted);
            };
            let info = c.info?;
            if info.nonce.as_deref() != Some(nonce) {
                return Ok(false);
            }
            let etag = if c.meta.etag.is_empty() {
                etag_hint.unwrap_or_default().to_string()
            } else {
                c.meta.etag
            };
            match self
                .client
                .delete(&self.object_key, &Cond::Etag(etag), self.deadline())
                .await?
            {
                Ok(()) => return Ok(true),
                Err(f) if f.status() == Some(404) => return Ok(false),
                // Changed between read and delete: look again.
                Err(f) if f.is_precondition() => continue,
                // No answer: it may be gone; the next read tells.
                Err(f) if f.is_ambiguous() => {
                    maybe_deleted = true;
                    continue;
                }
                Err(f) if f.is_not_implemented() => {
                    // No conditional deletes here: the nonce was just
                    // re-checked, delete plainly (a residual race remains).
                    self.client
                        .delete(&self.object_key, &Cond::None, self.deadline())
                        .await?
                        .map_err(|f| f.into_error("DeleteObject", &self.target()))?;
                    return Ok(true);
                }
                Err(f) => return Err(f.into_error("DeleteObject", &self.target())),
            }
        }
        Err(Error::Conflict(format!(
            "lock {} kept changing while it was being deleted",
            self.key
        )))
    }

    /// Give the lock up if it is still ours.
    pub async fn release(&mut self) -> Result<()> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        match self
            .client
            .delete(
                &self.object_key,
                &Cond::Etag(held.etag.clone()),
                self.deadline(),
            )
            .await?
        {
            Ok(()) => Ok(()),
            Err(f) if f.status() == Some(404) => Ok(()),
            // Our ETag is not current (a heartbeat we don't know landed, or
            // a successor), the server lacks conditional deletes, or the
            // answer was lost: delete only while the nonce is ours.
            Err(f) if f.is_precondition() || f.is_not_implemented() || f.is_ambiguous() => {
                match self.delete_if_ours(&held.nonce, Some(&held.etag)).await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        self.held = Some(held);
                        Err(e)
                    }
                }
            }
            Err(f) => {
                // Keep it as ours so a retry of release can still clean up.
                let e = f.into_error("DeleteObject (release)", &self.target());
                self.held = Some(held);
                Err(e)
            }
        }
    }

    /// Delete the stored lock only if its nonce is `expected`.
    pub async fn force_release(&mut self, expected: &str) -> Result<bool> {
        let deleted = self.delete_if_ours(expected, None).await?;
        if deleted && self.held.as_ref().is_some_and(|h| h.nonce == expected) {
            self.held = None;
        }
        Ok(deleted)
    }

    /// The stored lock, if any.
    pub async fn inspect(&self) -> Result<Option<LockInfo>> {
        match self.read().await? {
            None => Ok(None),
            Some(c) => c.info.map(Some),
        }
    }

    /// The key without the bucket prefix.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The TTL written.
    pub fn ttl(&self) -> u64 {
        self.ttl_ms
    }

    /// Is this handle holding the lock (as far as it knows)?
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }
}
