//! The engine against an in-memory store: a shared map of bodies with a
//! generation per write, a store clock the tests move by hand, and lost
//! answers on demand.

use crate::lock_info::LockInfoExt;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;
use crate::iso_time;
use crate::lock_info::LockInfo;
use crate::traits::Lock;
use swamp_datastore_types::{HolderIdentity, LockOptions};

struct Body {
    bytes: Vec<u8>,
    generation: u64,
    /// The store clock when it was written.
    written_ms: u64,
}

#[derive(Default)]
struct Shared {
    bodies: BTreeMap<String, Body>,
    generation: u64,
    /// The store's clock, moved by the tests.
    now_ms: u64,
    creates: usize,
    deletes: usize,
    /// The next conditional operation goes unanswered (`Cas::Unknown`),
    /// after taking effect (`Some(true)`) or not (`Some(false)`).
    lose_answer: Option<bool>,
    /// Every `set_deadline` call, in order.
    deadlines: Vec<Option<Instant>>,
}

/// Clones share one store, as handles of separate processes share a
/// bucket.
#[derive(Clone)]
struct MemoryStore {
    shared: Rc<RefCell<Shared>>,
    clock: Clock,
    /// Whether `age_ms` answers.
    knows_age: bool,
}

impl MemoryStore {
    fn new(clock: Clock) -> MemoryStore {
        MemoryStore {
            shared: Rc::default(),
            clock,
            knows_age: true,
        }
    }

    fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.shared
            .borrow()
            .bodies
            .get(key)
            .map(|b| b.bytes.clone())
    }

    fn plant(&self, key: &str, bytes: &[u8]) {
        let mut s = self.shared.borrow_mut();
        s.generation += 1;
        let body = Body {
            bytes: bytes.to_vec(),
            generation: s.generation,
            written_ms: s.now_ms,
        };
        s.bodies.insert(key.to_string(), body);
    }

    fn advance(&self, ms: u64) {
        self.shared.borrow_mut().now_ms += ms;
    }

    fn lose_next_answer(&self, lands: bool) {
        self.shared.borrow_mut().lose_answer = Some(lands);
    }

    /// Apply a conditional operation: `Some(result)` when it takes effect.
    fn conditional<V>(
        &mut self,
        key: &RelPath,
        expected: Option<u64>,
        write: Option<&[u8]>,
        done: impl FnOnce(u64) -> V,
    ) -> Cas<V> {
        let mut s = self.shared.borrow_mut();
        let lost = s.lose_answer.take();
        if lost == Some(false) {
            return Cas::Unknown(Error::Unavailable("no answer".into()));
        }
        let current = s.bodies.get(key.as_str()).map(|b| b.generation);
        if current != expected {
            return Cas::Refused;
        }
        s.generation += 1;
        let generation = s.generation;
        let written_ms = s.now_ms;
        match write {
            Some(bytes) => {
                let body = Body {
                    bytes: bytes.to_vec(),
                    generation,
                    written_ms,
                };
                s.bodies.insert(key.to_string(), body);
            }
            None => {
                s.bodies.remove(key.as_str());
            }
        }
        match lost {
            Some(_) => Cas::Unknown(Error::Unavailable("no answer".into())),
            None => Cas::Done(done(generation)),
        }
    }
}

impl LockStore for MemoryStore {
    type Version = u64;

    fn create(&mut self, key: &RelPath, bytes: &[u8]) -> Result<Cas<u64>> {
        self.shared.borrow_mut().creates += 1;
        Ok(self.conditional(key, None, Some(bytes), |g| g))
    }

    fn read(&mut self, key: &RelPath) -> Result<Option<Stored<u64>>> {
        Ok(self
            .shared
            .borrow()
            .bodies
            .get(key.as_str())
            .map(|b| Stored {
                bytes: b.bytes.clone(),
                version: b.generation,
            }))
    }

    fn replace(&mut self, key: &RelPath, version: &u64, bytes: &[u8]) -> Result<Cas<u64>> {
        Ok(self.conditional(key, Some(*version), Some(bytes), |g| g))
    }

    fn delete(&mut self, key: &RelPath, version: &u64) -> Result<Cas<()>> {
        self.shared.borrow_mut().deletes += 1;
        Ok(self.conditional(key, Some(*version), None, |_| ()))
    }

    fn describe(&self, key: &RelPath) -> String {
        format!("mem://{key}")
    }

    fn clock(&self) -> Clock {
        self.clock
    }

    fn age_ms(&mut self, key: &RelPath, version: &u64) -> Option<u64> {
        let s = self.shared.borrow();
        let b = s.bodies.get(key.as_str())?;
        (self.knows_age && b.generation == *version).then_some(s.now_ms - b.written_ms)
    }

    fn pacing(&self) -> Pacing {
        Pacing::LOCAL
    }

    fn set_deadline(&mut self, end: Option<Instant>) {
        self.shared.borrow_mut().deadlines.push(end);
    }
}

const KEY: &str = ".datastore.lock";

/// The store's clock, exact to the millisecond.
fn store_clock() -> MemoryStore {
    MemoryStore::new(Clock::Store { resolution_ms: 0 })
}

fn who(name: &str) -> HolderIdentity {
    HolderIdentity {
        user: name.into(),
        hostname: "box".into(),
        pid: 7,
    }
}

fn opts(ttl: u64, wait: u64) -> LockOptions {
    LockOptions {
        lock_key: None,
        ttl_ms: Some(ttl),
        retry_interval_ms: Some(5),
        max_wait_ms: Some(wait),
    }
}

fn lock(store: &MemoryStore, name: &str, ttl: u64, wait: u64) -> EngineLock<MemoryStore> {
    EngineLock::new(store.clone(), &opts(ttl, wait), who(name)).unwrap()
}

fn holder(store: &MemoryStore) -> Option<String> {
    let bytes = store.bytes(KEY)?;
    Some(LockInfo::parse(&bytes, "t").ok()?.holder)
}

fn nonce_of(l: &EngineLock<MemoryStore>) -> String {
    l.inspect().unwrap().unwrap().nonce.unwrap()
}

#[test]
fn acquire_inspect_release_reacquire() {
    let store = store_clock();
    let mut l = lock(&store, "ann", 30_000, 50);
    assert_eq!(l.inspect().unwrap(), None);
    l.acquire().unwrap();
    assert!(l.is_held());
    let info = l.inspect().unwrap().unwrap();
    assert_eq!(info.holder, "ann@box");
    assert_eq!(info.ttl_ms, 30_000);
    assert_eq!(store.bytes(KEY).unwrap(), info.to_json().into_bytes());
    l.release().unwrap();
    l.release().unwrap(); // idempotent
    assert!(!l.is_held());
    assert_eq!(l.inspect().unwrap(), None);
    l.acquire().unwrap();
    assert_ne!(
        l.inspect().unwrap().unwrap().nonce,
        info.nonce,
        "fresh nonce per acquire"
    );
}

#[test]
fn double_acquire_is_a_conflict_and_changes_nothing() {
    let store = store_clock();
    let mut l = lock(&store, "ann", 30_000, 50);
    l.acquire().unwrap();
    let before = store.bytes(KEY);
    assert!(matches!(l.acquire(), Err(Error::Conflict(_))));
    assert_eq!(store.bytes(KEY), before);
    l.heartbeat().unwrap();
}

#[test]
fn exclusion_and_a_timeout_naming_the_holder() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    let mut b = lock(&store, "bob", 30_000, 60);
    a.acquire().unwrap();
    let nonce = nonce_of(&a);
    match b.acquire() {
        Err(Error::LockTimeout {
            lock_key,
            holder,
            waited_ms,
        }) => {
            assert_eq!(lock_key, KEY);
            assert_eq!(holder.unwrap().holder, "ann@box");
            assert!(waited_ms >= 60, "{waited_ms}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!b.is_held());
    // b's failed acquire never touched a's lock.
    assert_eq!(nonce_of(&a), nonce);
    a.heartbeat().unwrap();
    a.release().unwrap();
    b.acquire().unwrap();
}

#[test]
fn an_acquire_tries_at_least_once() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 0);
    a.acquire().unwrap();
    let mut b = lock(&store, "bob", 30_000, 0);
    store.shared.borrow_mut().creates = 0;
    let started = Instant::now();
    assert!(matches!(b.acquire(), Err(Error::LockTimeout { .. })));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(store.shared.borrow().creates, 1, "exactly one attempt");
}

#[test]
fn a_stale_lock_is_taken_over_by_the_store_clock_and_the_old_holder_is_fenced() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 1_000, 50);
    a.acquire().unwrap();
    let old = nonce_of(&a);
    // Exactly at the end of the lease: still held, even by a contender
    // whose own TTL is shorter (the holder's stored TTL decides).
    store.advance(1_000);
    let mut quick = lock(&store, "quick", 10, 20);
    assert!(matches!(quick.acquire(), Err(Error::LockTimeout { .. })));
    assert_eq!(holder(&store).as_deref(), Some("ann@box"));
    store.advance(1);
    let mut b = lock(&store, "bob", 30_000, 50);
    b.acquire().unwrap();
    assert_eq!(holder(&store).as_deref(), Some("bob@box"));
    // Fenced: the old holder's heartbeat fails and writes nothing.
    let bob = store.bytes(KEY);
    match a.heartbeat() {
        Err(Error::LockLost(m)) => assert!(m.contains("taken over by bob@box"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(!a.is_held());
    assert_eq!(store.bytes(KEY), bob);
    // Neither its release nor a force-release with its old nonce frees
    // the successor's lock.
    a.release().unwrap();
    assert!(!a.force_release(&old).unwrap());
    assert_eq!(store.bytes(KEY), bob);
    b.heartbeat().unwrap();
}

#[test]
fn the_store_clock_resolution_lengthens_every_lease() {
    let store = MemoryStore::new(Clock::Store { resolution_ms: 500 });
    let mut a = lock(&store, "ann", 1_000, 50);
    a.acquire().unwrap();
    store.advance(1_500);
    let mut b = lock(&store, "bob", 30_000, 20);
    assert!(matches!(b.acquire(), Err(Error::LockTimeout { .. })));
    store.advance(1);
    b.acquire().unwrap();
}

#[test]
fn a_lock_of_unknown_age_is_never_stale_by_the_store_clock() {
    let mut store = store_clock();
    store.knows_age = false;
    let mut a = lock(&store, "ann", 10, 50);
    a.acquire().unwrap();
    store.advance(1_000_000);
    let mut b = lock(&store, "bob", 10, 20);
    assert!(matches!(b.acquire(), Err(Error::LockTimeout { .. })));
}

#[test]
fn the_holder_clock_judges_acquired_at_against_ours() {
    let store = MemoryStore::new(Clock::Holder);
    let mut body = LockInfo::new(&who("old"), 1_000, "n-old");
    body.acquired_at = "2001-01-01T00:00:00.000Z".into();
    store.plant(KEY, body.to_json().as_bytes());
    // The store's clock says it was just written; acquiredAt decides.
    let mut b = lock(&store, "bob", 30_000, 50);
    b.acquire().unwrap();
    assert_eq!(holder(&store).as_deref(), Some("bob@box"));
    // A holder whose clock is far ahead of ours is never stale.
    b.release().unwrap();
    body.acquired_at = "9999-01-01T00:00:00.000Z".into();
    store.plant(KEY, body.to_json().as_bytes());
    match b.acquire() {
        Err(Error::LockTimeout { holder, .. }) => assert_eq!(holder.unwrap().holder, "old@box"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn heartbeat_renews_acquired_at_and_keeps_the_nonce() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    match a.heartbeat() {
        Err(Error::LockLost(m)) => assert!(m.contains("not held"), "{m}"),
        other => panic!("{other:?}"),
    }
    a.acquire().unwrap();
    let before = a.inspect().unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(3));
    a.heartbeat().unwrap();
    let after = a.inspect().unwrap().unwrap();
    assert_eq!(after.nonce, before.nonce);
    assert!(iso_time::parse(&after.acquired_at) > iso_time::parse(&before.acquired_at));
    // The renewal restarted the lease by the store's clock too.
    store.advance(29_000);
    a.heartbeat().unwrap();
    store.advance(29_000);
    let mut b = lock(&store, "bob", 30_000, 20);
    assert!(matches!(b.acquire(), Err(Error::LockTimeout { .. })));
}

#[test]
fn heartbeat_after_force_release_is_lost_and_writes_nothing_back() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    a.acquire().unwrap();
    let nonce = nonce_of(&a);
    let mut admin = lock(&store, "root", 30_000, 50);
    assert!(admin.force_release(&nonce).unwrap());
    match a.heartbeat() {
        Err(Error::LockLost(m)) => assert!(m.contains("was deleted"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.bytes(KEY), None);
    // Lost, so a new acquire on the handle works.
    a.acquire().unwrap();
}

#[test]
fn release_frees_only_the_holders_lock() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    let mut never = lock(&store, "nobody", 30_000, 50);
    a.acquire().unwrap();
    never.release().unwrap();
    assert_eq!(holder(&store).as_deref(), Some("ann@box"));
    a.release().unwrap();
    assert_eq!(store.bytes(KEY), None);
}

#[test]
fn release_finds_its_lock_under_a_version_it_did_not_know() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    a.acquire().unwrap();
    // An earlier write of ours landed without an answer: same body, new
    // version.
    store.plant(KEY, &store.bytes(KEY).unwrap());
    a.heartbeat().unwrap();
    store.plant(KEY, &store.bytes(KEY).unwrap());
    a.release().unwrap();
    assert_eq!(store.bytes(KEY), None);
}

#[test]
fn force_release_needs_the_holders_nonce() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 300, 50);
    let mut admin = lock(&store, "root", 30_000, 50);
    assert!(!admin.force_release("nope").unwrap(), "absent");
    a.acquire().unwrap();
    let nonce = nonce_of(&a);
    assert!(!admin.force_release("nope").unwrap());
    // Even an expired lock stays under a wrong nonce.
    store.advance(10_000);
    assert!(!admin.force_release("nope").unwrap());
    assert_eq!(nonce_of(&a), nonce);
    assert!(admin.force_release(&nonce).unwrap());
    assert_eq!(store.bytes(KEY), None);
    assert!(!admin.force_release(&nonce).unwrap(), "already gone");
    assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
}

#[test]
fn force_release_by_the_holder_frees_its_handle() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    a.acquire().unwrap();
    let nonce = nonce_of(&a);
    assert!(a.force_release(&nonce).unwrap());
    assert!(!a.is_held());
    a.acquire().unwrap();
}

#[test]
fn an_unparseable_lock_is_held_and_left_as_it_is() {
    for clock in [Clock::Holder, Clock::Store { resolution_ms: 0 }] {
        let store = MemoryStore::new(clock);
        store.plant(KEY, b"{half a lock");
        let mut a = lock(&store, "ann", 100, 30);
        match a.inspect() {
            Err(Error::CorruptData(m)) => assert!(m.contains("mem://.datastore.lock"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            a.acquire(),
            Err(Error::LockTimeout { holder: None, .. })
        ));
        assert!(!a.force_release("any").unwrap());
        a.release().unwrap();
        assert!(matches!(a.heartbeat(), Err(Error::LockLost(_))));
        assert_eq!(store.bytes(KEY).unwrap(), b"{half a lock", "{clock:?}");
        assert_eq!(store.shared.borrow().deletes, 0, "{clock:?}");
    }
}

#[test]
fn an_unparseable_lock_expires_only_by_its_own_age() {
    // No clock of the store's own: once older than this handle's TTL.
    let store = MemoryStore::new(Clock::Holder);
    store.plant(KEY, b"");
    let mut a = lock(&store, "ann", 100, 20);
    store.advance(100);
    assert!(matches!(a.acquire(), Err(Error::LockTimeout { .. })));
    store.advance(1);
    a.acquire().unwrap();
    // Unknown age: held for good.
    let mut store = MemoryStore::new(Clock::Holder);
    store.knows_age = false;
    store.plant(KEY, b"");
    store.advance(1_000_000);
    let mut a = lock(&store, "ann", 100, 20);
    assert!(matches!(a.acquire(), Err(Error::LockTimeout { .. })));
    assert_eq!(store.bytes(KEY).unwrap(), b"");
    // The store's clock: swamp's default TTL, whatever this handle's is.
    let store = MemoryStore::new(Clock::Store {
        resolution_ms: 1000,
    });
    store.plant(KEY, b"not json");
    let mut a = lock(&store, "ann", 100, 20);
    store.advance(LockOptions::DEFAULT_TTL_MS + 1000);
    assert!(matches!(a.acquire(), Err(Error::LockTimeout { .. })));
    store.advance(1);
    a.acquire().unwrap();
    assert_eq!(holder(&store).as_deref(), Some("ann@box"));
}

#[test]
fn an_unanswered_create_is_settled_by_the_nonce() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    store.lose_next_answer(true);
    a.acquire().unwrap();
    a.heartbeat().unwrap();
    a.release().unwrap();
    store.lose_next_answer(false);
    a.acquire().unwrap();
    assert_eq!(holder(&store).as_deref(), Some("ann@box"));
    // Someone else's lock under a lost answer is not ours.
    let mut b = lock(&store, "bob", 30_000, 20);
    store.lose_next_answer(false);
    assert!(matches!(b.acquire(), Err(Error::LockTimeout { .. })));
}

#[test]
fn an_unanswered_heartbeat_is_settled_by_reading_the_lock() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 50);
    a.acquire().unwrap();
    std::thread::sleep(Duration::from_millis(2));
    store.lose_next_answer(true);
    a.heartbeat().unwrap();
    std::thread::sleep(Duration::from_millis(2));
    store.lose_next_answer(false);
    match a.heartbeat() {
        Err(Error::Unavailable(m)) => assert_eq!(m, "no answer"),
        other => panic!("{other:?}"),
    }
    assert!(a.is_held(), "still ours, not extended");
    a.heartbeat().unwrap();
    store.lose_next_answer(true);
    a.release().unwrap();
    assert_eq!(store.bytes(KEY), None);
}

#[test]
fn only_an_acquire_bounds_the_store_operations() {
    let store = store_clock();
    let mut a = lock(&store, "ann", 30_000, 0);
    let before = Instant::now();
    a.acquire().unwrap();
    a.heartbeat().unwrap();
    let calls = std::mem::take(&mut store.shared.borrow_mut().deadlines);
    assert_eq!(calls.len(), 2);
    let end = calls[0].unwrap();
    assert!(end >= before + Duration::from_millis(ACQUIRE_OVERRUN_MS));
    assert_eq!(calls[1], None);
    // A timed-out acquire gives the holder's read a budget of its own.
    let mut b = lock(&store, "bob", 30_000, 0);
    assert!(b.acquire().is_err());
    let calls = std::mem::take(&mut store.shared.borrow_mut().deadlines);
    assert_eq!(calls.len(), 3);
    assert!(calls[1].is_some());
    assert_eq!(calls[2], None);
}

#[test]
fn keys_are_validated_and_options_defaulted() {
    let store = store_clock();
    for bad in ["../x", "/abs", "a\\b", ""] {
        let o = LockOptions {
            lock_key: Some(bad.into()),
            ..LockOptions::default()
        };
        assert!(
            matches!(
                EngineLock::new(store.clone(), &o, who("a")),
                Err(Error::InvalidArgument(_))
            ),
            "{bad}"
        );
    }
    let o = LockOptions {
        lock_key: Some("data//aws/./vpc/m1/.lock".into()),
        ttl_ms: Some(0),
        ..LockOptions::default()
    };
    let mut l = EngineLock::new(store.clone(), &o, who("a")).unwrap();
    assert_eq!(l.lock_key(), "data/aws/vpc/m1/.lock");
    assert_eq!(l.ttl_ms(), 1);
    l.acquire().unwrap();
    assert!(store.bytes("data/aws/vpc/m1/.lock").is_some());
    let d = EngineLock::new(store, &LockOptions::default(), who("a")).unwrap();
    assert_eq!(d.lock_key(), LockOptions::DEFAULT_KEY);
    assert_eq!(d.ttl_ms(), LockOptions::DEFAULT_TTL_MS);
}

#[test]
fn jitter_stays_within_a_quarter() {
    for _ in 0..100 {
        let j = super::engine::jitter(1000);
        assert!((750..=1250).contains(&j), "{j}");
    }
    assert_eq!(super::engine::jitter(0), 0);
}
