//! The S3 lock: the object `{prefix}/{lockKey}` holding swamp's `LockInfo`
//! JSON (same key and body as the original, so mixed clients exclude each
//! other). The protocol (retries, staleness, fencing, nonces, ambiguous
//! answers) is the SDK's lock engine (`guest/sdk/src/lock_engine/`); this
//! file is only the bucket as its store:
//!
//! * create with `If-None-Match: *`; 412 **and 409** mean "lost the race";
//!   a timeout or 5xx is an unknown outcome, which the engine settles by
//!   re-reading the object and comparing the nonce;
//! * replace (heartbeat) with `If-Match: <etag>` and delete with
//!   `If-Match`, so a lock taken over is never overwritten and a fresh
//!   successor is never deleted; a server without conditional deletes gets
//!   a plain delete right after a check that the ETag is unchanged (a
//!   residual race remains there);
//! * staleness is judged by the server's clock only: the lock object's
//!   `Last-Modified` against the same response's `Date`, never the local
//!   clock;
//! * pauses go through the transport, requests are bounded by the
//!   engine's deadline during an acquire and by the TTL otherwise.

use std::rc::Rc;
use std::time::{Duration, Instant};

use swamp_datastore_sdk::lock_engine::{Cas, Clock, EngineLock, LockStore, Pacing, Stored};
use swamp_datastore_sdk::{HolderIdentity, LockOptions, RelPath, Result};

use crate::client::{Cond, Deadline, Failure, ObjectMeta, S3Client};
use crate::http::{Transport, block_on};

/// Last-Modified and Date have one-second resolution: a lock is stale only
/// when its server-side age exceeds the TTL by more than this margin.
pub const CLOCK_GRANULARITY_MS: u64 = 1000;

/// Bounds of a request outside an acquire (heartbeat, release,
/// force-release, inspect): a request outliving the TTL is useless (the
/// lease is over by then), and the host's call timeout would cut it off
/// as a trap.
const REQUEST_MIN_MS: u64 = 2000;
const REQUEST_MAX_MS: u64 = 50_000;

/// One lock key in one bucket.
pub type S3Lock<T> = EngineLock<LockBucket<T>>;

/// A lock on `options.lock_key` (validated as a relative path) in the
/// client's bucket, below its prefix. No I/O.
pub fn open<T: Transport>(
    client: Rc<S3Client<T>>,
    options: &LockOptions,
    identity: HolderIdentity,
) -> Result<S3Lock<T>> {
    let store = LockBucket {
        client,
        request_ms: options.ttl().clamp(REQUEST_MIN_MS, REQUEST_MAX_MS),
        deadline: None,
    };
    EngineLock::new(store, options, identity)
}

/// A bucket (and prefix) as the store of lock objects. The version of a
/// lock is the object's metadata: its ETag, and the server's clock.
pub struct LockBucket<T: Transport> {
    client: Rc<S3Client<T>>,
    /// Each request's budget when no deadline is set.
    request_ms: u64,
    /// The engine's deadline for every request (during an acquire).
    deadline: Option<Instant>,
}

impl<T: Transport> LockBucket<T> {
    fn full_key(&self, key: &RelPath) -> String {
        self.client.config().full_key(key.as_str())
    }

    fn deadline(&self) -> Deadline {
        match self.deadline {
            Some(end) => Deadline(Some(end)),
            None => Deadline::in_ms(self.request_ms),
        }
    }

    /// A failure of `op` on `key` as the SDK error.
    fn error(&self, f: Failure, op: &str, key: &RelPath) -> swamp_datastore_sdk::Error {
        f.into_error(op, &self.describe(key))
    }
}

impl<T: Transport> LockStore for LockBucket<T> {
    type Version = ObjectMeta;

    fn create(&mut self, key: &RelPath, bytes: &[u8]) -> Result<Cas<ObjectMeta>> {
        let full = self.full_key(key);
        let put = self
            .client
            .put(&full, bytes.to_vec(), &Cond::Absent, self.deadline());
        let op = "PutObject (create lock)";
        match block_on(put)? {
            Ok(meta) => Ok(Cas::Done(meta)),
            Err(f) if f.is_precondition() => Ok(Cas::Refused),
            Err(f) if f.is_ambiguous() => Ok(Cas::Unknown(self.error(f, op, key))),
            Err(f) => Err(self.error(f, op, key)),
        }
    }

    fn read(&mut self, key: &RelPath) -> Result<Option<Stored<ObjectMeta>>> {
        let full = self.full_key(key);
        let got = block_on(self.client.get(&full, self.deadline()))?;
        let obj = got.map_err(|f| self.error(f, "GetObject", key))?;
        Ok(obj.map(|o| Stored {
            bytes: o.body,
            version: o.meta,
        }))
    }

    fn replace(
        &mut self,
        key: &RelPath,
        version: &ObjectMeta,
        bytes: &[u8],
    ) -> Result<Cas<ObjectMeta>> {
        let full = self.full_key(key);
        let cond = Cond::Etag(version.etag.clone());
        let put = self
            .client
            .put(&full, bytes.to_vec(), &cond, self.deadline());
        let op = "PutObject (heartbeat)";
        match block_on(put)? {
            Ok(meta) => Ok(Cas::Done(meta)),
            Err(f) if f.is_precondition() || f.status() == Some(404) => Ok(Cas::Refused),
            Err(f) if f.is_ambiguous() => Ok(Cas::Unknown(self.error(f, op, key))),
            Err(f) => Err(self.error(f, op, key)),
        }
    }

    fn delete(&mut self, key: &RelPath, version: &ObjectMeta) -> Result<Cas<()>> {
        let full = self.full_key(key);
        // A server that sends no ETag leaves nothing to condition on.
        let cond = if version.etag.is_empty() {
            Cond::None
        } else {
            Cond::Etag(version.etag.clone())
        };
        let op = "DeleteObject";
        match block_on(self.client.delete(&full, &cond, self.deadline()))? {
            Ok(()) => Ok(Cas::Done(())),
            Err(f) if f.is_precondition() || f.status() == Some(404) => Ok(Cas::Refused),
            Err(f) if f.is_ambiguous() => Ok(Cas::Unknown(self.error(f, op, key))),
            // Reached by a refusal with the code `NotImplemented` under a
            // 4xx; a 501 is a server error and reads as no answer above.
            Err(f) if f.is_not_implemented() => {
                // No conditional deletes here: delete plainly while the
                // object is still at that ETag (a residual race remains).
                let head = block_on(self.client.head(&full, self.deadline()))?
                    .map_err(|f| self.error(f, "HeadObject", key))?;
                if head.is_none_or(|m| m.etag != version.etag) {
                    return Ok(Cas::Refused);
                }
                block_on(self.client.delete(&full, &Cond::None, self.deadline()))?
                    .map_err(|f| self.error(f, op, key))?;
                Ok(Cas::Done(()))
            }
            Err(f) => Err(self.error(f, op, key)),
        }
    }

    fn describe(&self, key: &RelPath) -> String {
        self.client.describe(&self.full_key(key))
    }

    fn clock(&self) -> Clock {
        Clock::Store {
            resolution_ms: CLOCK_GRANULARITY_MS,
        }
    }

    /// Date − Last-Modified of the response that read `version`.
    fn age_ms(&mut self, _key: &RelPath, version: &ObjectMeta) -> Option<u64> {
        version.server_age_ms()
    }

    fn pacing(&self) -> Pacing {
        Pacing::REMOTE
    }

    fn sleep(&mut self, pause: Duration) {
        block_on(self.client.transport().sleep(pause))
    }

    fn set_deadline(&mut self, end: Option<Instant>) {
        self.deadline = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::collections::{BTreeMap, VecDeque};
    use std::io::Write;
    use std::time::SystemTime;
    use swamp_datastore_sdk::LockInfoExt;

    use swamp_datastore_sdk::serde_json::json;
    use swamp_datastore_sdk::{Error, Lock, LockInfo};

    use crate::config::S3Config;
    use crate::http::{HttpRequest, HttpResponse, TransportError};

    const BASE: &str = "http://127.0.0.1:9000/b-one/";
    const OBJECT: &str = "pre/.datastore.lock";

    /// A stored object: body, ETag, Last-Modified.
    type Object = (Vec<u8>, String, SystemTime);

    /// An in-memory bucket with a clock of its own, honouring
    /// `If-None-Match: *` and `If-Match` as S3 does.
    #[derive(Default)]
    struct Bucket {
        objects: RefCell<BTreeMap<String, Object>>,
        /// The server's clock: seconds past a fixed instant, moved by the
        /// tests only (HTTP dates have one-second resolution; a clock that
        /// ran on its own would make ages jump by a second at random).
        clock_s: Cell<u64>,
        etags: Cell<u64>,
        /// Answer the next request of this method with this status, after
        /// carrying it out (`true`) or not (`false`).
        script: RefCell<VecDeque<(&'static str, u16, bool)>>,
        /// Refuse every conditional delete as not implemented (HTTP 400
        /// with the code `NotImplemented`: a 501 reads as a server error,
        /// which the engine settles by reading the lock again).
        no_conditional_delete: Cell<bool>,
    }

    #[derive(Clone, Default)]
    struct Fake(Rc<Bucket>);

    impl Bucket {
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + self.clock_s.get())
        }

        fn body(&self, key: &str) -> Option<Vec<u8>> {
            self.objects.borrow().get(key).map(|o| o.0.clone())
        }

        fn put(&self, key: &str, body: Vec<u8>) -> String {
            self.etags.set(self.etags.get() + 1);
            let etag = format!("\"e{}\"", self.etags.get());
            let at = self.now();
            self.objects
                .borrow_mut()
                .insert(key.to_string(), (body, etag.clone(), at));
            etag
        }

        fn answer(&self, req: &HttpRequest) -> HttpResponse {
            let key = req.url.strip_prefix(BASE).unwrap().to_string();
            let header = |n: &str| {
                req.headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.clone())
            };
            let date = ("date".to_string(), httpdate::fmt_http_date(self.now()));
            let status = |s: u16, code: &str| HttpResponse {
                status: s,
                headers: vec![date.clone()],
                body: format!("<Error><Code>{code}</Code></Error>").into_bytes(),
            };
            let current = self.objects.borrow().get(&key).cloned();
            let if_match = header("if-match");
            match req.method.as_str() {
                "GET" | "HEAD" => match current {
                    None => status(404, "NoSuchKey"),
                    Some((body, etag, at)) => HttpResponse {
                        status: 200,
                        headers: vec![
                            date,
                            ("etag".into(), etag),
                            ("last-modified".into(), httpdate::fmt_http_date(at)),
                        ],
                        body: if req.method == "GET" { body } else { vec![] },
                    },
                },
                "PUT" => {
                    if header("if-none-match").is_some() && current.is_some() {
                        return status(412, "PreconditionFailed");
                    }
                    if let Some(e) = if_match {
                        match current {
                            None => return status(404, "NoSuchKey"),
                            Some((_, etag, _)) if etag != e => {
                                return status(412, "PreconditionFailed");
                            }
                            Some(_) => {}
                        }
                    }
                    let etag = self.put(&key, req.body.to_vec());
                    HttpResponse {
                        status: 200,
                        headers: vec![date, ("etag".into(), etag)],
                        body: vec![],
                    }
                }
                "DELETE" => {
                    if let Some(e) = if_match {
                        if self.no_conditional_delete.get() {
                            return status(400, "NotImplemented");
                        }
                        match current {
                            None => return status(404, "NoSuchKey"),
                            Some((_, etag, _)) if etag != e => {
                                return status(412, "PreconditionFailed");
                            }
                            Some(_) => {}
                        }
                    }
                    self.objects.borrow_mut().remove(&key);
                    HttpResponse {
                        status: 204,
                        headers: vec![date],
                        body: vec![],
                    }
                }
                m => panic!("unexpected {m}"),
            }
        }
    }

    impl Transport for Fake {
        async fn send(
            &self,
            req: HttpRequest,
            _timeout: Duration,
            _sink: Option<&mut dyn Write>,
        ) -> std::result::Result<HttpResponse, TransportError> {
            let scripted = {
                let mut script = self.0.script.borrow_mut();
                match script.front() {
                    Some((m, _, _)) if *m == req.method => script.pop_front(),
                    _ => None,
                }
            };
            let answer = match scripted {
                Some((_, s, carried_out)) => {
                    if carried_out {
                        self.0.answer(&req);
                    }
                    HttpResponse {
                        status: s,
                        headers: vec![],
                        body: vec![],
                    }
                }
                None => self.0.answer(&req),
            };
            Ok(answer)
        }

        async fn sleep(&self, _d: Duration) {}
    }

    fn who(name: &str) -> HolderIdentity {
        HolderIdentity {
            user: name.into(),
            hostname: "box".into(),
            pid: 7,
        }
    }

    fn lock(fake: &Fake, name: &str, ttl: u64, wait: u64) -> S3Lock<Fake> {
        let cfg = S3Config::parse(&json!({
            "bucket": "b-one",
            "prefix": "pre",
            "endpoint": "http://127.0.0.1:9000",
            "accessKeyId": "AK",
            "secretAccessKey": "SK",
        }))
        .unwrap();
        let client = Rc::new(S3Client::new(fake.clone(), cfg, &|_| None));
        let options = LockOptions {
            lock_key: None,
            ttl_ms: Some(ttl),
            retry_interval_ms: Some(5),
            max_wait_ms: Some(wait),
        };
        open(client, &options, who(name)).unwrap()
    }

    fn holder(fake: &Fake) -> Option<String> {
        let body = fake.0.body(OBJECT)?;
        Some(LockInfo::parse(&body, "t").unwrap().holder)
    }

    #[test]
    fn the_lock_is_swamps_object_below_the_prefix() {
        let fake = Fake::default();
        let mut a = lock(&fake, "ann", 30_000, 50);
        a.acquire().unwrap();
        let info = a.inspect().unwrap().unwrap();
        assert_eq!(fake.0.body(OBJECT).unwrap(), info.to_json().into_bytes());
        a.heartbeat().unwrap();
        a.release().unwrap();
        assert_eq!(fake.0.body(OBJECT), None);
        match lock(&fake, "ann", 30_000, 50).inspect() {
            Ok(None) => {}
            other => panic!("{other:?}"),
        }
        fake.0.put(OBJECT, b"{half".to_vec());
        match a.inspect() {
            Err(Error::CorruptData(m)) => assert!(m.contains("s3://b-one/pre/.datastore.lock")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn staleness_is_judged_by_the_servers_clock() {
        let fake = Fake::default();
        let mut a = lock(&fake, "ann", 1_000, 50);
        a.acquire().unwrap();
        // TTL plus the one-second granularity of HTTP dates: still held.
        fake.0.clock_s.set(2);
        let mut b = lock(&fake, "bob", 30_000, 30);
        match b.acquire() {
            Err(Error::LockTimeout { holder, .. }) => assert_eq!(holder.unwrap().holder, "ann@box"),
            other => panic!("{other:?}"),
        }
        fake.0.clock_s.set(3);
        b.acquire().unwrap();
        assert_eq!(holder(&fake).as_deref(), Some("bob@box"));
        // The old holder's If-Match heartbeat fails and writes nothing.
        let bob = fake.0.body(OBJECT);
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
        a.release().unwrap();
        assert_eq!(fake.0.body(OBJECT), bob);
    }

    #[test]
    fn a_conflict_409_is_a_lost_race_and_an_unanswered_create_is_settled() {
        let fake = Fake::default();
        let mut a = lock(&fake, "ann", 30_000, 50);
        fake.0.script.borrow_mut().push_back(("PUT", 409, false));
        a.acquire().unwrap();
        a.release().unwrap();
        // The create landed, its answer did not: the nonce tells it is ours.
        fake.0.script.borrow_mut().push_back(("PUT", 503, true));
        a.acquire().unwrap();
        a.heartbeat().unwrap();
        assert_eq!(holder(&fake).as_deref(), Some("ann@box"));
        a.release().unwrap();
        assert_eq!(fake.0.body(OBJECT), None);
    }

    #[test]
    fn without_conditional_deletes_only_the_holders_lock_is_deleted() {
        let fake = Fake::default();
        fake.0.no_conditional_delete.set(true);
        let mut a = lock(&fake, "ann", 1_000, 50);
        a.acquire().unwrap();
        a.release().unwrap();
        assert_eq!(fake.0.body(OBJECT), None);
        // A stale lock is still taken over, and the loser's release leaves
        // the successor's lock.
        a.acquire().unwrap();
        fake.0.clock_s.set(5);
        let mut b = lock(&fake, "bob", 30_000, 50);
        b.acquire().unwrap();
        a.release().unwrap();
        assert_eq!(holder(&fake).as_deref(), Some("bob@box"));
        let nonce = b.inspect().unwrap().unwrap().nonce.unwrap();
        assert!(!a.force_release("wrong").unwrap());
        assert!(a.force_release(&nonce).unwrap());
        assert_eq!(fake.0.body(OBJECT), None);
    }
}
