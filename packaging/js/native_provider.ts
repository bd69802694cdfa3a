// swamp's provider, lock, verifier and sync service over swamp-host, the
// native path (native.ts). Each object holds a handle of the library; a
// FinalizationRegistry drops it (and with it the guest instance) once the
// object is garbage.

import { Buffer } from "node:buffer";
import { mkdirSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { DatastoreHealthResult, LockInfo, LockOptions } from "./convert.ts";
import { abortError, DatastoreError, kindError } from "./errors.ts";
import { DistributedLock, type LockPort } from "./lock.ts";
import type { NativeHost } from "./native.ts";
import { type SharedFeatures } from "./shared_store.ts";
import { type DatastoreSyncService, type SyncPort, syncServiceOf, type WitSyncCapabilities } from "./sync.ts";
import type { DatastoreProvider } from "./datastore.ts";

/** Features of a provider, as the component states them. */
interface Features {
  sync: boolean;
  cachePath: boolean;
  namespaces: boolean;
}

/** A call with an AbortSignal gets this far deadline; an abort moves the guest's clock past it. */
const ABORTABLE_TIMEOUT_MS = 30 * 24 * 3600 * 1000;

/**
 * The deadline of a sync call made without a signal: SWAMP_WASM_SYNC_TIMEOUT_MS,
 * else swamp-host's (swamp's default sync timeout, 300 s).
 */
function defaultSyncTimeoutMs(): number | undefined {
  const v = Deno.env.get("SWAMP_WASM_SYNC_TIMEOUT_MS");
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new TypeError(`SWAMP_WASM_SYNC_TIMEOUT_MS must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Results that carry bytes come back as base64. */
const BYTES_RESULT = new Set(["shared.controlGet", "shared.fetchForeignContent"]);

function dropper(host: NativeHost): FinalizationRegistry<number> {
  return new FinalizationRegistry((id) => {
    try {
      host.callSync({ op: "drop", id });
    } catch {
      // The process is going; nothing to free.
    }
  });
}

/** A sync service's calls, one after another (the abort flag is per call). */
class NativeSyncPort implements SyncPort {
  #queue: Promise<unknown> = Promise.resolve();
  constructor(readonly host: NativeHost, readonly id: number) {}

  call(what: string, method: string, args: unknown[], signal?: AbortSignal, optionsAt?: number): Promise<unknown> {
    const run = this.#queue.then(() => this.#call(what, method, args, signal, optionsAt));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #call(what: string, method: string, args: unknown[], signal?: AbortSignal, optionsAt?: number) {
    if (signal?.aborted) throw abortError(what, signal.reason);
    if (optionsAt !== undefined) {
      const timeoutMs = signal ? ABORTABLE_TIMEOUT_MS : defaultSyncTimeoutMs();
      if (timeoutMs !== undefined) {
        args[optionsAt] = { ...(args[optionsAt] as Record<string, unknown>), timeoutMs };
      }
    }
    // Synchronous and guest-free: it only sets a flag.
    const onAbort = () => this.host.callSync({ op: "sync.abort", id: this.id });
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const value = await this.host.call<unknown>({ op: "sync.call", id: this.id, method, args });
      if (signal?.aborted) throw abortError(what, signal.reason);
      if (BYTES_RESULT.has(method)) {
        return typeof value === "string" ? new Uint8Array(Buffer.from(value, "base64")) : undefined;
      }
      return value ?? undefined;
    } catch (e) {
      if (signal?.aborted) throw abortError(what, signal.reason);
      // The caller did not abort, so the guest's `aborted` means its
      // deadline (timeout-ms) ran out: a timeout, as when the host stops it.
      if (e instanceof DatastoreError && e.kind === "aborted") throw kindError("timeout", e.message);
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) this.host.callSync({ op: "sync.reset-abort", id: this.id });
    }
  }
}

/** The provider of one config, opened in swamp-host. */
export function nativeProviderOf(
  host: NativeHost,
  plugin: number,
  config: Record<string, unknown>,
  hasSharedStore: boolean,
): DatastoreProvider {
  const drops = dropper(host);
  const keep = <T extends object>(obj: T, id: number): T => {
    drops.register(obj, id);
    return obj;
  };
  const opened = host.callSync<{ id: number; features: Features }>({ op: "plugin.open", id: plugin, config });
  const pid = opened.id;
  const features = opened.features;
  const provider: DatastoreProvider = {
    createLock(datastorePath: string, options: LockOptions = {}) {
      const make = (o: LockOptions): LockPort => {
        const made = host.callSync<{ id: number; key: string; ttlMs: number }>({
          op: "provider.create-lock",
          id: pid,
          datastorePath,
          options: o,
        });
        const id = made.id;
        const port: LockPort = {
          lockKey: made.key,
          ttlMs: made.ttlMs,
          tryAcquire: () => host.call<void>({ op: "lock.acquire", id }),
          release: () => host.call<void>({ op: "lock.release", id }),
          inspect: () => host.call<LockInfo | null>({ op: "lock.inspect", id }).then(lockInfo),
          forceRelease: (nonce) => host.call<boolean>({ op: "lock.force-release", id, nonce }),
          // swamp-host beats on its own runtime every ttl/3; this only
          // reads whether those beats found the lock lost.
          heartbeat: () => {
            const why = host.callSync<string | null>({ op: "lock.lost", id });
            return why ? Promise.reject(kindError("lock-lost", `lock lost: ${why}`)) : Promise.resolve();
          },
        };
        return keep(port, id);
      };
      return new DistributedLock(make, options);
    },
    createVerifier() {
      const id = host.callSync<number>({ op: "provider.create-verifier", id: pid });
      return keep({
        verify: () => host.call<DatastoreHealthResult>({ op: "verifier.verify", id }).then(health),
      }, id);
    },
    resolveDatastorePath(repoDir: string) {
      return host.callSync<string>({ op: "provider.resolve-datastore-path", id: pid, repoDir });
    },
  };
  if (features.sync) {
    provider.createSyncService = (repoDir: string, cachePath: string): DatastoreSyncService => {
      if (!isAbsolute(cachePath)) {
        throw new TypeError(`cache path ${JSON.stringify(cachePath)} must be absolute`);
      }
      mkdirSync(cachePath, { recursive: true });
      const made = host.callSync<
        { id: number; capabilities: WitSyncCapabilities; shared: SharedFeatures } | null
      >({ op: "provider.create-sync-service", id: pid, repoDir, cachePath });
      if (!made) throw new Error(`this datastore has no sync service for this config (no cache in use)`);
      const shared = hasSharedStore ? made.shared : { controlPlane: false, catalogs: false, contaminationRepair: false };
      return keep(syncServiceOf(made.capabilities, new NativeSyncPort(host, made.id), shared), made.id);
    };
  }
  if (features.cachePath) {
    provider.resolveCachePath = (repoDir: string) =>
      host.callSync<string | null>({ op: "provider.resolve-cache-path", id: pid, repoDir }) ?? undefined;
  }
  if (features.namespaces) {
    provider.registerNamespace = (datastorePath, namespace, repoId) =>
      host.call<void>({ op: "provider.register-namespace", id: pid, datastorePath, namespace, repoId })
        .then(() => undefined);
    provider.listNamespaces = (datastorePath) =>
      host.call<string[]>({ op: "provider.list-namespaces", id: pid, datastorePath });
  }
  return keep(provider, pid);
}

function lockInfo(i: LockInfo | null): LockInfo | null {
  if (!i) return null;
  const out: LockInfo = {
    holder: i.holder,
    hostname: i.hostname,
    pid: i.pid,
    acquiredAt: i.acquiredAt,
    ttlMs: i.ttlMs,
  };
  if (i.nonce !== undefined && i.nonce !== null) out.nonce = i.nonce;
  return out;
}

function health(h: DatastoreHealthResult): DatastoreHealthResult {
  return { ...h, latencyMs: Math.max(0, h.latencyMs), details: h.details ?? {} };
}
