// swamp's DatastoreSyncService over the component's `sync-service`. The
// optional methods exist only when the component advertises them:
// `capabilities` when any capability is on, `hydrateFile` with
// lazyHydration, `preparePush`/`commitPush` with twoPhaseSync,
// `previewPush` with previewPush.
//
// AbortSignal: a call into the component is synchronous and cannot be
// interrupted half-way from JavaScript, so a signal is checked before the
// call (an aborted signal ends it with an AbortError at once, touching
// nothing) and after it (the result of a call aborted meanwhile is
// withheld and the call ends with an AbortError).

import { type DatastoreSyncOptions, type SyncCapabilities, toWit } from "./convert.ts";
import { abortError, call } from "./errors.ts";

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

export interface DatastoreSyncService {
  pullChanged(options?: DatastoreSyncOptions): Promise<number>;
  pushChanged(options?: DatastoreSyncOptions): Promise<number>;
  markDirty(options?: DatastoreSyncOptions): Promise<void>;
  capabilities?(): SyncCapabilities;
  hydrateFile?(relPath: string, options?: DatastoreSyncOptions): Promise<boolean>;
  preparePush?(options?: DatastoreSyncOptions): Promise<PushManifest>;
  commitPush?(manifest: PushManifest, options?: DatastoreSyncOptions): Promise<number>;
  previewPush?(options?: DatastoreSyncOptions): Promise<PushPreview>;
}

/** Run one component call under the options' AbortSignal. */
function guarded<T>(what: string, options: DatastoreSyncOptions | undefined, f: () => T): Promise<T> {
  return Promise.resolve().then(() => {
    const signal = options?.signal;
    if (signal?.aborted) throw abortError(what, signal.reason);
    const out = call(what, f);
    if (signal?.aborted) throw abortError(what, signal.reason);
    return out;
  });
}

export function syncServiceOf(svc: WitSyncService): DatastoreSyncService {
  const caps = call("sync.capabilities", () => svc.capabilities()) as Required<SyncCapabilities>;
  const o = (options?: DatastoreSyncOptions) => toWit.syncOptions(options);
  const service: DatastoreSyncService = {
    pullChanged: (options) => guarded("sync.pull-changed", options, () => svc.pullChanged(o(options)) as number),
    pushChanged: (options) => guarded("sync.push-changed", options, () => svc.pushChanged(o(options)) as number),
    markDirty: (options) => guarded("sync.mark-dirty", options, () => void svc.markDirty(o(options))),
  };
  if (Object.values(caps).some((v) => v === true)) {
    service.capabilities = () => ({ ...caps });
  }
  if (caps.lazyHydration) {
    service.hydrateFile = (relPath, options) =>
      guarded("sync.hydrate-file", options, () => svc.hydrateFile(relPath, o(options)) as boolean);
  }
  if (caps.twoPhaseSync) {
    service.preparePush = (options) =>
      guarded("sync.prepare-push", options, () => svc.preparePush(o(options)) as PushManifest);
    service.commitPush = (manifest, options) =>
      guarded("sync.commit-push", options, () => svc.commitPush(manifest, o(options)) as number);
  }
  if (caps.previewPush) {
    service.previewPush = (options) =>
      guarded("sync.preview-push", options, () => svc.previewPush(o(options)) as PushPreview);
  }
  return service;
}
