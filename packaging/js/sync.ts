// swamp's DatastoreSyncService over the component's `sync-service`. The
// optional methods exist only when the component advertises them:
// `capabilities` when any capability is on, `hydrateFile` with
// lazyHydration, `preparePush`/`commitPush` with twoPhaseSync,
// `previewPush` with previewPush; the shared-store methods with their
// features (shared_store.ts), and `controlPlane` among the capabilities
// when the control plane is there.
//
// The calls run in a worker thread (worker.ts, sync_worker.ts), so swamp's
// thread stays free while a pull or push runs and lock heartbeats keep
// beating. An AbortSignal ends a call with an AbortError: at once when it
// is already aborted, else once the component has stopped at its next
// deadline check.

import { type DatastoreSyncOptions, type SyncCapabilities, toWit } from "./convert.ts";
import { type SharedFeatures, sharedStoreMethods, type SharedStoreMethods } from "./shared_store.ts";

// deno-lint-ignore no-explicit-any
export type WitSyncService = any;

export interface PushManifest {
  pushed: number;
  deleted: number;
  payload: string;
}

export interface PushPreview {
  total: number;
  new: number;
  changed: number;
  deleted: number;
}

export interface DatastoreSyncService extends SharedStoreMethods {
  pullChanged(options?: DatastoreSyncOptions): Promise<number>;
  pushChanged(options?: DatastoreSyncOptions): Promise<number>;
  markDirty(options?: DatastoreSyncOptions): Promise<void>;
  capabilities?(): SyncCapabilities;
  hydrateFile?(relPath: string, options?: DatastoreSyncOptions): Promise<boolean>;
  preparePush?(options?: DatastoreSyncOptions): Promise<PushManifest>;
  commitPush?(manifest: PushManifest, options?: DatastoreSyncOptions): Promise<number>;
  previewPush?(options?: DatastoreSyncOptions): Promise<PushPreview>;
}

/**
 * Where a sync service's calls run: a worker thread of the portable path
 * (worker.ts) or swamp-host on the native one (native_provider.ts). A
 * call with a `signal` ends with an AbortError once the component has
 * stopped; `optionsAt` is the index of the WIT sync-options argument.
 */
export interface SyncPort {
  call(what: string, method: string, args: unknown[], signal?: AbortSignal, optionsAt?: number): Promise<unknown>;
}

/** The WIT `sync-capabilities`. */
export type WitSyncCapabilities = Required<Omit<SyncCapabilities, "controlPlane">>;

/**
 * The service: the capabilities (read when it was made) decide the
 * optional methods synchronously; every call goes to `worker`.
 */
export function syncServiceOf(
  capabilities: WitSyncCapabilities,
  worker: SyncPort,
  shared: SharedFeatures,
): DatastoreSyncService {
  const caps = { ...capabilities, controlPlane: shared.controlPlane };
  const o = (options?: DatastoreSyncOptions) => toWit.syncOptions(options);
  // The sync-options argument is the last one of every call.
  const run = <T>(method: string, args: unknown[], options?: DatastoreSyncOptions) =>
    worker.call(`sync.${method}`, method, args, options?.signal, args.length - 1) as Promise<T>;
  // The namespace the first pull or push names, as swamp's own datastores
  // bind it; the control plane works in it from then on.
  let bound: { ns: string | undefined } | undefined;
  const bind = (ns: string | undefined) => {
    bound ??= { ns: ns || undefined };
  };
  const binding = <T>(f: (options?: DatastoreSyncOptions) => Promise<T>) => (options?: DatastoreSyncOptions) => {
    bind(options?.namespace);
    return f(options);
  };
  const service: DatastoreSyncService = {
    pullChanged: binding((options) => run<number>("pullChanged", [o(options)], options)),
    pushChanged: binding((options) => run<number>("pushChanged", [o(options)], options)),
    markDirty: (options) => run<void>("markDirty", [o(options)], options).then(() => undefined),
    ...sharedStoreMethods(
      shared,
      <T>(fn: string, args: unknown[], signal?: AbortSignal) =>
        worker.call(`shared-store.${fn}`, `shared.${fn}`, args, signal) as Promise<T>,
      () => bound?.ns,
      bind,
    ),
  };
  if (Object.values(caps).some((v) => v === true)) {
    service.capabilities = () => ({ ...caps });
  }
  if (caps.lazyHydration) {
    service.hydrateFile = (relPath, options) => run<boolean>("hydrateFile", [relPath, o(options)], options);
  }
  if (caps.twoPhaseSync) {
    service.preparePush = binding((options) => run<PushManifest>("preparePush", [o(options)], options));
    service.commitPush = (manifest, options) => run<number>("commitPush", [manifest, o(options)], options);
  }
  if (caps.previewPush) {
    service.previewPush = (options) => run<PushPreview>("previewPush", [o(options)], options);
  }
  return service;
}
