// The lock: a file `{datastore}/{key}` holding swamp's LockInfo JSON, the
// contract of wit/lock.wit. The same rules as fs-datastore's lock (the
// SDK's lock engine over its directory store, guest/sdk/src/lock_engine/):
//
// * acquire creates the file exclusively; a lock whose holder's TTL ran out
//   is taken over; it retries every retry interval until max-wait, always
//   trying at least once, then fails with lock-timeout naming the holder;
// * every destructive step (takeover, release, force-release, a late
//   heartbeat) reads the lock, decides on what it read, and deletes the file
//   only if it still holds those bytes (Directory.removeIfSame);
// * a lock file nobody can parse counts as held and is never deleted or
//   overwritten (it may be a holder still writing it; an operator removes
//   it), and inspect reports it as corrupt-data;
// * heartbeat fails with lock-lost once the stored nonce is not ours.

import { identity } from 'swamp:datastore/host-info@0.1.1';
import { conflict, invalidArgument, lockLost, lockTimeout } from './errors.js';
import { Directory } from './files.js';
import { ageMs, isStale, lockInfoBytes, newLockInfo, parseLockInfo } from './lock-info.js';
import { elapsedMs, instant, randomBelow, sleep, uuid } from './platform.js';

const DEFAULT_KEY = '.datastore.lock';
const DEFAULT_TTL_MS = 30_000n;
const DEFAULT_RETRY_MS = 1_000n;
const DEFAULT_MAX_WAIT_MS = 60_000n;

export class FileLock {
  #dir;
  #key;
  #ttlMs;
  #retryMs;
  #maxWaitMs;
  #who;
  /** The nonce of the lock this handle holds, or null. */
  #held = null;

  /**
   * A lock on `options.lockKey` below `datastorePath`. No I/O.
   * @param {string} datastorePath @param {object} options the WIT lock-options (u64 fields are BigInts)
   */
  constructor(datastorePath, options) {
    if (!datastorePath.startsWith('/')) {
      throw invalidArgument(`datastore path ${JSON.stringify(datastorePath)} must be absolute`);
    }
    this.#dir = new Directory(datastorePath);
    this.#key = relativeKey(options.lockKey ?? DEFAULT_KEY);
    const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
    this.#ttlMs = ttl > 0n ? ttl : 1n; // a zero TTL would make every lock stale at once
    this.#retryMs = Number(options.retryIntervalMs ?? DEFAULT_RETRY_MS);
    this.#maxWaitMs = Number(options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    this.#who = identity();
  }

  lockKey() {
    return this.#key;
  }

  ttlMs() {
    return this.#ttlMs;
  }

  acquire() {
    if (this.#held !== null) {
      throw conflict(`lock ${this.#key} is already held by this handle; release it first`);
    }
    const nonce = uuid();
    const start = instant();
    for (let first = true; ; first = false) {
      const waited = elapsedMs(start);
      // Checked before every attempt but the first: max-wait 0 still tries once.
      if (!first && waited >= this.#maxWaitMs) {
        throw lockTimeout(this.#key, this.#holderNow(), waited);
      }
      if (this.#tryCreate(nonce)) {
        this.#held = nonce;
        return;
      }
      const current = this.#read();
      if (current.state === 'absent') continue; // released meanwhile: try again now
      if (current.state === 'valid' && isStale(current.info)) {
        this.#dir.removeIfSame(this.#key, current.bytes);
        continue;
      }
      // Held, or unparseable (treated as held): wait, the retry interval ±25 %.
      const jitter = randomBelow(Math.floor(this.#retryMs / 2) + 1);
      const pause = Math.max(1, this.#retryMs - Math.floor(this.#retryMs / 4) + jitter);
      sleep(Math.min(pause, Math.max(1, this.#maxWaitMs - elapsedMs(start))));
    }
  }

  release() {
    const nonce = this.#held;
    this.#held = null;
    if (nonce === null) return; // not held: nothing to do
    const current = this.#read();
    if (current.state === 'valid' && current.info.nonce === nonce) {
      this.#dir.removeIfSame(this.#key, current.bytes);
    }
    // Anything else is a successor's lock (or none): left alone.
  }

  inspect() {
    const current = this.#read();
    if (current.state === 'corrupt') throw current.error;
    return current.info;
  }

  forceRelease(expectedNonce) {
    const current = this.#read();
    if (current.state !== 'valid' || current.info.nonce !== expectedNonce) return false;
    const removed = this.#dir.removeIfSame(this.#key, current.bytes);
    if (removed && this.#held === expectedNonce) this.#held = null;
    return removed;
  }

  heartbeat() {
    const nonce = this.#held;
    if (nonce === null) throw lockLost(`lock ${this.#key} is not held by this handle`);
    const current = this.#read();
    if (current.state !== 'valid' || current.info.nonce !== nonce) {
      this.#held = null;
      throw lockLost(
        current.state === 'valid'
          ? `lock ${this.#key} was taken over by ${current.info.holder} (pid ${current.info.pid})`
          : `lock file ${this.#describe()} is gone or unreadable`,
      );
    }
    const renewed = lockInfoBytes({ ...current.info, acquiredAt: new Date().toISOString(), ttlMs: this.#ttlMs });
    if (BigInt(ageMs(current.info)) * 2n <= this.#ttlMs) {
      // Well inside the lease nobody may take the lock over, so a rename
      // over the file is safe, and the lock file never disappears.
      this.#dir.writeAtomic(this.#key, renewed);
      return;
    }
    // Late in the lease a contender may be taking the lock over right now:
    // replace the file only if it still holds what we read, and re-create it
    // exclusively. We may lose the lock to the contender, but two holders
    // never coexist.
    if (!this.#dir.removeIfSame(this.#key, current.bytes) || !this.#dir.createExclusive(this.#key, renewed)) {
      this.#held = null;
      throw lockLost(`lock ${this.#key} changed hands during the heartbeat`);
    }
  }

  #describe() {
    return `${this.#dir.path}/${this.#key}`;
  }

  /** Write a new lock for `nonce` if none exists. */
  #tryCreate(nonce) {
    const slash = this.#key.lastIndexOf('/');
    if (slash > 0) this.#dir.makeDirectories(this.#key.slice(0, slash));
    return this.#dir.createExclusive(this.#key, lockInfoBytes(newLockInfo(this.#who, this.#ttlMs, nonce)));
  }

  /** The holder's LockInfo, when it can be read. */
  #holderNow() {
    try {
      return this.#read().info;
    } catch {
      return undefined;
    }
  }

  /** What the lock file holds now: absent, valid (info + bytes) or corrupt (error). */
  #read() {
    const bytes = this.#dir.read(this.#key);
    if (bytes === null) return { state: 'absent', info: undefined };
    try {
      return { state: 'valid', info: parseLockInfo(bytes, this.#describe()), bytes };
    } catch (error) {
      return { state: 'corrupt', info: undefined, error };
    }
  }
}

/**
 * A lock key as a normalised relative path: forward slashes, no empty, `.`
 * or `..` segments, no NUL or backslash, not absolute (as the SDK's RelPath).
 */
export function relativeKey(raw) {
  const refuse = (why) => invalidArgument(`lock key ${JSON.stringify(raw)} ${why}`);
  if (raw === '') throw refuse('is empty');
  if (raw.includes('\0')) throw refuse('contains a NUL character');
  if (raw.includes('\\')) throw refuse('contains a backslash; use forward slashes');
  if (raw.startsWith('/')) throw refuse('is absolute; it must be relative to the datastore');
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse("contains a '..' segment");
  if (segments.length === 0) throw refuse("names no file (only '.' and '/')");
  if (/^[A-Za-z]:/.test(segments[0])) throw refuse('starts with a drive letter; it must be relative');
  return segments.join('/');
}
