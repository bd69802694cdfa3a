// The native path of a packaged extension: the component runs in
// swamp-host (wasmtime), the same embedding host-harness uses, loaded
// into swamp's Deno process with Deno.dlopen (swamp-host/ffi). It has
// host-harness's walls (a memory limit per instance, a deadline per call,
// the allow-lists) and its speed. `host-harness package` embeds the
// library built for the packaging machine; anywhere else (another OS or
// CPU, no FFI permission, SWAMP_WASM_BACKEND=portable) the portable path
// of datastore.ts runs instead.
//
// Calls cross as JSON (swamp-host/ffi/src/lib.rs). The methods swamp's
// contract declares synchronous (createProvider, createLock, createVerifier,
// createSyncService, resolveDatastorePath, resolveCachePath) call
// synchronously, each bounded by the call deadline; every other call is
// `nonblocking`: it runs on a thread of Deno's pool and swamp's thread goes
// on meanwhile.

import { Buffer } from "node:buffer";
import { mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { type LockInfo } from "./convert.ts";
import { DatastoreError, InvalidConfigError, kindError, LockTimeoutError, pointerToPath } from "./errors.ts";

/** What `host-harness package` embeds for the native path. */
export interface NativePayload {
  /** `${os}-${arch}` the library was built for, as Deno names them. */
  platform: string;
  /** The library, gzip, base64. */
  library: string;
  librarySha256: string;
  /** The component itself, base64 (swamp-host compiles and caches it). */
  component: string;
  componentSha256: string;
}

/** A failed call as the library reports it. */
interface WireError {
  kind: string;
  message: string;
  lockKey?: string;
  holder?: LockInfo | null;
  waitedMs?: number;
  issues?: { path: string; message: string }[];
  byComponent?: boolean;
}

function toError(e: WireError): DatastoreError {
  if (e.kind === "lock-timeout") {
    return new LockTimeoutError(e.lockKey ?? "", e.holder ?? null, e.waitedMs ?? 0);
  }
  if (e.kind === "invalid-config" && e.issues) {
    return new InvalidConfigError(
      e.issues.map((i) => ({ path: pointerToPath(i.path), message: i.message, code: "custom" })),
      e.byComponent ? "Invalid config (rejected by the component)" : "Invalid config",
    );
  }
  return kindError(e.kind, e.message);
}

type Request = Record<string, unknown> & { op: string };

const encoder = new TextEncoder();

/** JSON of a request: u64s (BigInt on the portable path) as numbers, bytes as base64. */
function encode(req: Request): Uint8Array {
  return encoder.encode(JSON.stringify(req, (_k, v) => {
    if (typeof v === "bigint") return Number(v);
    if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
    return v;
  }));
}

/** The library, opened once per process. */
export class NativeHost {
  // deno-lint-ignore no-explicit-any
  readonly #lib: any;

  private constructor(path: string) {
    this.#lib = Deno.dlopen(path, {
      swamp_ffi_call: { parameters: ["buffer", "usize"], result: "pointer" },
      swamp_ffi_call_async: {
        name: "swamp_ffi_call",
        parameters: ["buffer", "usize"],
        result: "pointer",
        nonblocking: true,
      },
      swamp_ffi_free: { parameters: ["pointer"], result: "void" },
    } as const);
  }

  static #opened = new Map<string, NativeHost>();

  /** Open the library at `path` (once per path and process). */
  static open(path: string): NativeHost {
    let h = NativeHost.#opened.get(path);
    if (!h) {
      h = new NativeHost(path);
      NativeHost.#opened.set(path, h);
    }
    return h;
  }

  #reply(ptr: Deno.PointerValue): unknown {
    if (ptr === null) throw kindError("internal", "the native host returned no reply");
    let text: string;
    try {
      text = Deno.UnsafePointerView.getCString(ptr);
    } finally {
      this.#lib.symbols.swamp_ffi_free(ptr);
    }
    const reply = JSON.parse(text) as { ok?: unknown; error?: WireError };
    if (reply.error) throw toError(reply.error);
    return reply.ok;
  }

  /** A call that waits here (swamp's contract makes the method synchronous). */
  callSync<T>(req: Request): T {
    const bytes = encode(req);
    return this.#reply(this.#lib.symbols.swamp_ffi_call(bytes, BigInt(bytes.length))) as T;
  }

  /** A call on a thread of Deno's pool; swamp's thread goes on. */
  async call<T>(req: Request): Promise<T> {
    const bytes = encode(req);
    const ptr = await this.#lib.symbols.swamp_ffi_call_async(bytes, BigInt(bytes.length));
    return this.#reply(ptr) as T;
  }
}

/** The platform name `NativePayload.platform` is compared with. */
export function thisPlatform(): string {
  return `${Deno.build.os}-${Deno.build.arch}`;
}

/** `$XDG_CACHE_HOME/swamp-wasm-datastores`, or under `~/.cache`. */
function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), ".cache"), "swamp-wasm-datastores");
}

/**
 * Write `bytes` to `path` unless a file of that size is there already (the
 * name carries the content's hash); atomically, so a second process
 * loading the same extension never sees half a file.
 */
function materialize(path: string, bytes: () => Uint8Array, sha256: string): void {
  try {
    if (statSync(path).isFile()) return;
  } catch {
    // Absent: write it.
  }
  const data = bytes();
  const got = createHash("sha256").update(data).digest("hex");
  if (got !== sha256) {
    throw kindError("corrupt-data", `embedded native file for ${path} has sha256 ${got}, expected ${sha256}`);
  }
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, data, { mode: 0o755 });
  renameSync(tmp, path);
}

/** Where the library and the component were written, once per machine. */
export interface NativeFiles {
  library: string;
  component: string;
  cacheDir: string;
}

/** Unpack the payload into the cache (only what is missing). */
export function unpack(payload: NativePayload): NativeFiles {
  const dir = join(cacheRoot(), payload.librarySha256.slice(0, 16));
  mkdirSync(dir, { recursive: true });
  const library = join(dir, "libswamp_host_ffi.so");
  materialize(library, () => gunzipSync(Buffer.from(payload.library, "base64")), payload.librarySha256);
  const component = join(dir, `${payload.componentSha256.slice(0, 16)}.wasm`);
  materialize(component, () => Buffer.from(payload.component, "base64"), payload.componentSha256);
  return { library, component, cacheDir: join(dir, "compiled") };
}

/** Why the native path is not taken here, or undefined when it is. */
export function nativeUnavailable(payload: NativePayload | undefined): string | undefined {
  const wanted = process.env.SWAMP_WASM_BACKEND;
  if (wanted === "portable") return "SWAMP_WASM_BACKEND=portable";
  if (!payload) return "the extension was packaged without the native library";
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") return "not running under Deno";
  if (payload.platform !== thisPlatform()) {
    return `the native library is built for ${payload.platform}, this is ${thisPlatform()}`;
  }
  return undefined;
}

/** The limits swamp-host applies, from the environment (absent: its defaults). */
export function limitsFromEnv(): Record<string, number> {
  const out: Record<string, number> = {};
  for (
    const [env, key] of [
      ["SWAMP_WASM_MEMORY_MB", "memoryMb"],
      ["SWAMP_WASM_CALL_TIMEOUT_MS", "callTimeoutMs"],
      ["SWAMP_WASM_GRACE_MS", "graceMs"],
      ["SWAMP_WASM_HTTP_TIMEOUT_MS", "httpTimeoutMs"],
    ]
  ) {
    const v = process.env[env];
    if (v === undefined || v === "") continue;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new TypeError(`${env} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    out[key] = n;
  }
  return out;
}
