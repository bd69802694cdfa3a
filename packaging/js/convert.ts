// Values crossing the component boundary: jco hands u64 over as BigInt,
// options as `undefined`, and maps as lists of pairs; swamp's TypeScript
// contract uses numbers, absent fields and records. Conversion lives here
// and only here.

/** swamp's LockInfo. */
export interface LockInfo {
  holder: string;
  hostname: string;
  pid: number;
  acquiredAt: string;
  ttlMs: number;
  nonce?: string;
}

/** The WIT `lock-info` as jco gives it. */
export interface WitLockInfo {
  holder: string;
  hostname: string;
  pid: number;
  acquiredAt: string;
  ttlMs: bigint;
  nonce?: string;
}

/** swamp's DatastoreHealthResult. */
export interface DatastoreHealthResult {
  healthy: boolean;
  message: string;
  latencyMs: number;
  datastoreType: string;
  details?: Record<string, string>;
}

/** swamp's LockOptions. */
export interface LockOptions {
  lockKey?: string;
  ttlMs?: number;
  retryIntervalMs?: number;
  maxWaitMs?: number;
}

/** swamp's DatastoreSyncOptions (plus the WIT's `namespace`). */
export interface DatastoreSyncOptions {
  signal?: AbortSignal;
  relPath?: string;
  context?: { models?: ReadonlyArray<{ modelType: string; modelId: string }> };
  metadataOnly?: boolean;
  namespace?: string;
}

/** swamp's SyncCapabilities. */
export interface SyncCapabilities {
  scopedSync?: boolean;
  lazyHydration?: boolean;
  namespacedSync?: boolean;
  twoPhaseSync?: boolean;
  previewPush?: boolean;
  /** controlPlaneStore() works (the component's shared-store feature). */
  controlPlane?: boolean;
}

export const fromWit = {
  lockInfo(i: WitLockInfo): LockInfo {
    const out: LockInfo = {
      holder: i.holder,
      hostname: i.hostname,
      pid: i.pid,
      acquiredAt: i.acquiredAt,
      ttlMs: Number(i.ttlMs),
    };
    if (i.nonce !== undefined) out.nonce = i.nonce;
    return out;
  },
  health(h: {
    healthy: boolean;
    message: string;
    latencyMs: number;
    datastoreType: string;
    details: [string, string][];
  }): DatastoreHealthResult {
    return {
      healthy: h.healthy,
      message: h.message,
      latencyMs: Math.max(0, h.latencyMs),
      datastoreType: h.datastoreType,
      details: Object.fromEntries(h.details),
    };
  },
};

/** A non-negative integer option as the u64 the WIT wants. */
function u64(name: string, v: number | undefined): bigint | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new TypeError(`${name} must be a non-negative integer, got ${v}`);
  }
  return BigInt(v);
}

export const toWit = {
  u64,
  syncOptions(o: DatastoreSyncOptions | undefined, timeoutMs?: number) {
    const models = o?.context?.models;
    return {
      relPath: o?.relPath,
      context: o?.context
        ? { models: (models ?? []).map((m) => ({ modelType: m.modelType, modelId: m.modelId })) }
        : undefined,
      metadataOnly: o?.metadataOnly ?? false,
      namespace: o?.namespace || undefined,
      timeoutMs: u64("timeoutMs", timeoutMs),
    };
  },
};
