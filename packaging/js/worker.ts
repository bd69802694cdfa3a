// swamp's-thread side of a sync service's worker (see sync_worker.ts): start
// it from the embedded source and send calls. A call made with an
// AbortSignal gets a deadline far away (`timeout-ms`); an abort sets the
// shared flag that moves the worker's clock past it, the component stops
// at its next deadline check with `aborted`, and the call ends with an
// AbortError once it really has stopped (terminating the worker would not
// stop a synchronous call, and the caller must not think it stopped while
// it still writes). A component that never checks its deadline finishes
// the call first.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { toWit } from "./convert.ts";
import { abortError, kindError } from "./errors.ts";
import type { SyncWorkerData, WireError } from "./sync_worker.ts";

const files = new Map<string, URL>();

/** The worker source written once per process into a private directory. */
function workerUrl(source: string): URL {
  let url = files.get(source);
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), "swamp-sync-worker-"));
    const path = join(dir, "sync-worker.mjs");
    writeFileSync(path, source);
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    url = pathToFileURL(path);
    files.set(source, url);
  }
  return url;
}

function fromWire(e: WireError): Error {
  const err = kindError(e.kind, e.message);
  err.name = e.name;
  return err;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/** One worker running one sync service, one call at a time. */
export class SyncWorker {
  readonly #source: string;
  readonly #data: SyncWorkerData;
  readonly #abortFlag = new Int32Array(new SharedArrayBuffer(4));
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<number, Pending>();
  #next = 0;
  /** Calls run one after another: the abort flag belongs to one call. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(source: string, data: Omit<SyncWorkerData, "abortFlag">) {
    this.#source = source;
    this.#data = { ...data, abortFlag: this.#abortFlag };
  }

  #start(): Promise<void> {
    if (this.#ready) return this.#ready;
    const worker = new Worker(workerUrl(this.#source));
    // An idle worker must not keep swamp running; a call in flight does.
    worker.unref();
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (m: { ready?: boolean; id?: number; ok?: boolean; value?: unknown; error?: WireError }) => {
        if (m.id === undefined) {
          if (m.ready) return resolve();
          this.#fail(fromWire(m.error!), worker);
          worker.terminate();
          return reject(fromWire(m.error!));
        }
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(fromWire(m.error!));
      });
      worker.on("error", (e: Error) => {
        const err = kindError("internal", `sync worker failed: ${e.message}`);
        this.#fail(err, worker);
        reject(err);
      });
    });
    worker.postMessage({ init: this.#data });
    return this.#ready;
  }

  /** Fail what is in flight on `worker` (default: the current one) and forget it. */
  #fail(e: Error, worker = this.#worker) {
    if (worker !== this.#worker) return;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    this.#worker = undefined;
    this.#ready = undefined;
  }

  /** The deadline a call with an AbortSignal gets: 30 days (see above). */
  static readonly ABORTABLE_TIMEOUT_MS = 30 * 24 * 3600 * 1000;

  /**
   * Call `method` in the worker. With a `signal`, `optionsAt` is the index
   * of the WIT sync-options argument, which gets the far deadline.
   */
  call(
    what: string,
    method: string,
    args: unknown[],
    signal?: AbortSignal,
    optionsAt?: number,
  ): Promise<unknown> {
    const run = this.#queue.then(() => this.#call(what, method, args, signal, optionsAt));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #call(
    what: string,
    method: string,
    args: unknown[],
    signal?: AbortSignal,
    optionsAt?: number,
  ): Promise<unknown> {
    if (signal?.aborted) throw abortError(what, signal.reason);
    this.#start();
    this.#worker!.ref();
    try {
      return await this.#send(what, method, args, signal, optionsAt);
    } finally {
      this.#worker?.unref();
    }
  }

  async #send(
    what: string,
    method: string,
    args: unknown[],
    signal?: AbortSignal,
    optionsAt?: number,
  ): Promise<unknown> {
    await this.#start();
    if (signal?.aborted) throw abortError(what, signal.reason);
    if (signal && optionsAt !== undefined) {
      const o = args[optionsAt] as Record<string, unknown>;
      args[optionsAt] = { ...o, timeoutMs: toWit.u64("timeoutMs", SyncWorker.ABORTABLE_TIMEOUT_MS) };
    }
    Atomics.store(this.#abortFlag, 0, 0);
    const id = this.#next++;
    const result = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    const onAbort = () => Atomics.store(this.#abortFlag, 0, 1);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#worker!.postMessage({ id, method, args });
    try {
      const value = await result;
      if (signal?.aborted) throw abortError(what, signal.reason);
      return value;
    } catch (e) {
      if (signal?.aborted) throw abortError(what, signal.reason);
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      Atomics.store(this.#abortFlag, 0, 0);
    }
  }
}
