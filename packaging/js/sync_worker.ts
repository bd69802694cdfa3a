// The worker-thread side of a sync service. A call into a component is
// synchronous; a pull or push can take minutes. Run on swamp's own thread it
// would stop every timer (lock heartbeats) and every AbortSignal until it
// returned, so each sync service lives in an instance of its own on a
// worker thread, and swamp's thread only waits on a message. An abort
// reaches the running call through a shared flag that jumps the worker's
// monotonic clock past the call's deadline (wasi.ts).
//
// Protocol: a first message { init: { modules, configJson, grants, repoDir,
// cachePath } } is answered { ready: true } or { ready: false, error }, then
// each { id, method, args } with { id, ok: true, value } or { id, ok: false,
// error }.

import { parentPort } from "node:worker_threads";
import { DatastoreError, fromComponent } from "./errors.ts";
import { type Grants, wasiImports } from "./wasi.ts";

export interface SyncWorkerData {
  /** The compiled core modules (compiled once on swamp's thread). */
  modules: Record<string, WebAssembly.Module>;
  /** Set by swamp's thread when the running call is aborted (wasi.ts). */
  abortFlag: Int32Array;
  configJson: string;
  grants: Grants;
  repoDir: string;
  cachePath: string;
}

/** An error as it crosses the thread boundary. */
export interface WireError {
  kind: string;
  name: string;
  message: string;
}

function wire(e: unknown): WireError {
  if (e instanceof DatastoreError) return { kind: e.kind, name: e.name, message: e.message };
  const err = e instanceof Error ? e : new Error(String(e));
  return { kind: "internal", name: "InternalError", message: err.message };
}

// deno-lint-ignore no-explicit-any
type Instantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: any) => any;

/** Serve one sync service in this worker thread. */
export function serveSyncService(instantiate: Instantiate) {
  const port = parentPort;
  if (!port) throw new Error("serveSyncService runs in a worker thread");
  const post = (m: unknown) => port.postMessage(m);
  // deno-lint-ignore no-explicit-any
  let svc: any;
  // The component's shared-store interface (WIT 0.1.1); absent in a
  // component built against 0.1.0.
  // deno-lint-ignore no-explicit-any
  let shared: any;
  port.on("message", (m: { init?: SyncWorkerData; id: number; method: string; args: unknown[] }) => {
    if (m.init) {
      const data = m.init;
      try {
        const exports = instantiate(
          (name) => data.modules[name],
          wasiImports(data.grants, data.abortFlag),
        );
        shared = exports.sharedStore;
        const provider = exports.datastore.createProvider(data.configJson);
        svc = provider.createSyncService(data.repoDir, data.cachePath);
        if (!svc) throw new Error("the component has no sync service for this config");
      } catch (e) {
        post({ ready: false, error: wire(fromComponent("provider.create-sync-service", e)) });
        return;
      }
      post({ ready: true });
      return;
    }
    // `shared.<fn>` is a free function of shared-store taking the service
    // first; anything else is a method of the sync-service resource.
    const sharedFn = m.method.startsWith("shared.") ? m.method.slice("shared.".length) : undefined;
    const label = sharedFn ? `shared-store.${sharedFn}` : `sync.${m.method}`;
    try {
      const value = sharedFn ? shared[sharedFn](svc, ...m.args) : svc[m.method](...m.args);
      post({ id: m.id, ok: true, value });
    } catch (e) {
      post({ id: m.id, ok: false, error: wire(fromComponent(label, e)) });
    }
  });
}
