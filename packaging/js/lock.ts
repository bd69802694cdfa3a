// swamp's DistributedLock over the component's `distributed-lock`, on
// either path (a LockPort: jco here, swamp-host in native_provider.ts).
//
// Waiting happens here, not in the component: on the portable path a call
// into a transpiled component is synchronous and would hold JavaScript's
// only thread for up to `maxWaitMs`, starving every timer (other locks'
// heartbeats) and every other promise; on both paths an AbortSignal must
// end a wait at once. So each attempt asks the component for one try (its
// max-wait and retry interval are 1 ms, which also takes over a stale
// lock), and the pause between tries is a timer here. While the lock is
// held a timer every ttl/3 beats (portable) or asks whether swamp-host's
// own heartbeats found the lock lost (native); it stops on release.

import { fromWit, type LockInfo, type LockOptions, type WitLockInfo } from "./convert.ts";
import { DEFAULT_MAX_WAIT_MS, DEFAULT_RETRY_INTERVAL_MS } from "./defaults.ts";
import { abortError, call, DatastoreError, LockTimeoutError } from "./errors.ts";

/** The component's lock handle as jco gives it. */
export interface WitLock {
  acquire(): void;
  release(): void;
  inspect(): WitLockInfo | undefined;
  forceRelease(expectedNonce: string): boolean;
  heartbeat(): void;
  lockKey(): string;
  ttlMs(): bigint;
}

/**
 * One lock of the component, whichever path runs it (the portable one
 * here, over jco; the native one in native_provider.ts). Every method is
 * one guest call; waiting and retrying are DistributedLock's.
 */
export interface LockPort {
  readonly lockKey: string;
  readonly ttlMs: number;
  /** One attempt: resolves once taken, LockTimeoutError while held. */
  tryAcquire(): Promise<void>;
  release(): Promise<void>;
  inspect(): Promise<LockInfo | null>;
  forceRelease(expectedNonce: string): Promise<boolean>;
  /** Renew the lease (or learn that the host's own heartbeats lost it). */
  heartbeat(): Promise<void>;
}

/** A jco lock handle as a port (calls on this thread, one at a time). */
export function witLockPort(lock: WitLock): LockPort {
  const later = <T>(what: string, f: () => T) => Promise.resolve().then(() => call(what, f));
  return {
    lockKey: call("lock.lock-key", () => lock.lockKey()),
    ttlMs: Number(call("lock.ttl-ms", () => lock.ttlMs())),
    tryAcquire: () => later("lock.acquire", () => lock.acquire()),
    release: () => later("lock.release", () => lock.release()),
    inspect: () =>
      later("lock.inspect", () => {
        const info = lock.inspect();
        return info ? fromWit.lockInfo(info) : null;
      }),
    forceRelease: (nonce) => later("lock.force-release", () => lock.forceRelease(nonce)),
    heartbeat: () => later("lock.heartbeat", () => lock.heartbeat()),
  };
}

/** Wait `ms`, or less when `signal` aborts meanwhile. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export class DistributedLock {
  readonly #lock: LockPort;
  readonly #retryMs: number;
  readonly #maxWaitMs: number;
  /** The key this lock takes (the component's default when not given). */
  readonly lockKey: string;
  /** The lease this lock writes, in milliseconds. */
  readonly ttlMs: number;
  #held = false;
  #releasing = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lost: Error | undefined;
  #beating = false;

  /**
   * `make` opens the component's lock for one attempt per call (max-wait
   * and retry interval 1 ms, which also takes over a stale lock).
   */
  constructor(make: (options: LockOptions) => LockPort, options: LockOptions) {
    this.#retryMs = options.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS;
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.#lock = make({ lockKey: options.lockKey, ttlMs: options.ttlMs, retryIntervalMs: 1, maxWaitMs: 1 });
    this.lockKey = this.#lock.lockKey;
    this.ttlMs = this.#lock.ttlMs;
  }

  /** Whether this handle holds the lock (false once a heartbeat found it lost). */
  get held(): boolean {
    return this.#held;
  }

  /** Why the lock was lost while held, if it was. */
  get lost(): Error | undefined {
    return this.#lost;
  }

  /**
   * Take the lock, retrying every retryIntervalMs until maxWaitMs. A
   * `signal` (an extension of swamp's contract) ends the wait with an
   * AbortError.
   */
  async acquire(options: { signal?: AbortSignal } = {}): Promise<void> {
    const start = performance.now();
    let holder: LockInfo | null = null;
    for (;;) {
      if (options.signal?.aborted) throw abortError(`acquire of lock "${this.lockKey}"`, options.signal.reason);
      try {
        await this.#lock.tryAcquire();
        this.#held = true;
        this.#releasing = false;
        this.#lost = undefined;
        this.#startHeartbeat();
        return;
      } catch (e) {
        if (!(e instanceof LockTimeoutError)) throw e;
        holder = e.holder;
      }
      const waited = performance.now() - start;
      if (waited >= this.#maxWaitMs) {
        throw new LockTimeoutError(this.lockKey, holder, Math.round(waited));
      }
      await pause(Math.min(this.#retryMs, this.#maxWaitMs - waited), options.signal);
    }
  }

  /** Give the lock up; idempotent. */
  release(): Promise<void> {
    this.#releasing = true;
    this.#stopHeartbeat();
    this.#held = false;
    return this.#lock.release();
  }

  /** Acquire, run fn, release (also when fn throws). */
  async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    await this.acquire();
    let result: T;
    try {
      result = await fn();
    } finally {
      await this.release();
    }
    // The work ran (partly) without the lock: say so rather than let the
    // caller believe it was protected.
    if (this.#lost) throw this.#lost;
    return result;
  }

  /** The stored lock info, or null when the key is free. */
  inspect(): Promise<LockInfo | null> {
    return this.#lock.inspect();
  }

  /** Delete the stored lock only when it carries `expectedNonce`. */
  forceRelease(expectedNonce: string): Promise<boolean> {
    return this.#lock.forceRelease(expectedNonce);
  }

  #startHeartbeat() {
    this.#stopHeartbeat();
    const every = Math.max(1, Math.floor(this.ttlMs / 3));
    this.#heartbeat = setInterval(() => this.#beat(), every);
  }

  #stopHeartbeat() {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  async #beat() {
    // One beat at a time: a slow backend must not pile them up.
    if (!this.#held || this.#releasing || this.#beating) return;
    this.#beating = true;
    try {
      await this.#lock.heartbeat();
    } catch (e) {
      // lock-lost (taken over or force-released): stop beating; withLock
      // reports it. Other failures (a backend briefly unreachable) are
      // retried at the next beat while the lease lasts.
      if (e instanceof DatastoreError && e.kind === "lock-lost") {
        this.#lost = e;
        this.#held = false;
        this.#stopHeartbeat();
        // Clear the handle's own state so it can acquire again; release
        // never deletes a successor's lock.
        await this.#lock.release().catch(() => {
          // Nothing more to do: the lock is someone else's now.
        });
      }
    } finally {
      this.#beating = false;
    }
  }
}
