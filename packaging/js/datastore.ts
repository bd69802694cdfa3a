// swamp's datastore contract over a transpiled component: the `datastore`
// export (`type`, `name`, `description`, `configSchema`, `createProvider`)
// and the provider it makes. Locks and sync services live in their own
// files; this one owns instances and the provider.

import { Buffer } from "node:buffer";
import { mkdirSync } from "node:fs";
import { isAbsolute } from "node:path";
import process from "node:process";
import { call } from "./errors.ts";
import { type DatastoreHealthResult, fromWit, type LockOptions, toWit } from "./convert.ts";
import { type ConfigSchema, configSchemaOf, grantsOf } from "./schema.ts";
import { type Grants, wasiImports } from "./wasi.ts";
import { DistributedLock, type WitLock, witLockPort } from "./lock.ts";
import { SyncWorker } from "./worker.ts";
import { type DatastoreSyncService, syncServiceOf, type WitSyncService } from "./sync.ts";
import { NO_SHARED_FEATURES, type SharedFeatures } from "./shared_store.ts";
import { limitsFromEnv, NativeHost, nativeUnavailable, type NativePayload, unpack } from "./native.ts";
import { nativeProviderOf } from "./native_provider.ts";

// deno-lint-ignore no-explicit-any
type Instantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: any) => any;

/** What `host-harness package` writes into the generated module. */
export interface PackagedComponent {
  type: string;
  name: string;
  description: string;
  /** The component's config schema (JSON Schema), read at packaging. */
  schema: Record<string, unknown>;
  /** jco's `instantiate` (sync instantiation mode). */
  instantiate: Instantiate;
  /**
   * jco's core modules by name, base64. Embedded rather than read from
   * beside the module: swamp bundles an extension into one file elsewhere.
   */
  cores: Record<string, string>;
  /** The sync worker (sync_worker.ts bundled with jco's output), as text. */
  syncWorkerSource: string;
  /** swamp-host as a library and the component, for the native path (native.ts). */
  native?: NativePayload;
}

export interface DatastoreVerifier {
  verify(): Promise<DatastoreHealthResult>;
}

export interface DatastoreProvider {
  createLock(datastorePath: string, options?: LockOptions): DistributedLock;
  createVerifier(): DatastoreVerifier;
  resolveDatastorePath(repoDir: string): string;
  createSyncService?(repoDir: string, cachePath: string): DatastoreSyncService;
  resolveCachePath?(repoDir: string): string | undefined;
  registerNamespace?(datastorePath: string, namespace: string, repoId: string): Promise<void>;
  listNamespaces?(datastorePath: string): Promise<string[]>;
}

export interface Datastore {
  type: string;
  name: string;
  description: string;
  configSchema: ConfigSchema;
  createProvider(config: Record<string, unknown>): DatastoreProvider;
  /** Which path runs the component: `native` (swamp-host) or `portable` (jco). */
  backend: "native" | "portable";
  /** Why the portable path runs, when it does. */
  portableBecause?: string;
}

/** The native path, or why not (SWAMP_WASM_BACKEND=native makes "not" an error). */
function openNative(spec: PackagedComponent): { host: NativeHost; plugin: number; shared: boolean } | string {
  const why = nativeUnavailable(spec.native);
  const required = process.env.SWAMP_WASM_BACKEND === "native";
  if (why) {
    if (required) throw new Error(`SWAMP_WASM_BACKEND=native, but the native path is unavailable: ${why}`);
    return why;
  }
  try {
    const files = unpack(spec.native!);
    const host = NativeHost.open(files.library);
    const hostId = host.callSync<number>({ op: "host.new", ...limitsFromEnv(), cacheDir: files.cacheDir });
    const loaded = host.callSync<{ id: number; sharedStore: boolean }>({
      op: "host.load",
      id: hostId,
      path: files.component,
    });
    return { host, plugin: loaded.id, shared: loaded.sharedStore };
  } catch (e) {
    if (required) throw e;
    const msg = `native path failed to load (${e instanceof Error ? e.message : String(e)})`;
    console.error(`${spec.type}: ${msg}; using the portable path`);
    return msg;
  }
}

/** Compiles the core modules once; `createProvider` instantiates them. */
export async function defineDatastore(spec: PackagedComponent): Promise<Datastore> {
  const configSchema = configSchemaOf(spec.schema);
  const native = openNative(spec);
  if (typeof native !== "string") {
    return {
      type: spec.type,
      name: spec.name,
      description: spec.description,
      configSchema,
      backend: "native",
      createProvider(config: Record<string, unknown>): DatastoreProvider {
        const valid = configSchema.parse(config);
        return nativeProviderOf(native.host, native.plugin, valid, native.shared);
      },
    };
  }
  const modules = new Map<string, WebAssembly.Module>();
  for (const [name, b64] of Object.entries(spec.cores)) {
    modules.set(name, await WebAssembly.compile(new Uint8Array(Buffer.from(b64, "base64"))));
  }
  const instantiate = (grants: Grants) =>
    spec.instantiate((name) => {
      const m = modules.get(name);
      if (!m) throw new Error(`core module ${name} missing from the extension`);
      return m;
    }, wasiImports(grants));
  return {
    type: spec.type,
    name: spec.name,
    description: spec.description,
    configSchema,
    backend: "portable",
    portableBecause: native,
    createProvider(config: Record<string, unknown>): DatastoreProvider {
      const valid = configSchema.parse(config);
      return providerOf(spec, modules, instantiate, grantsOf(spec.schema, valid), JSON.stringify(valid));
    },
  };
}

// deno-lint-ignore no-explicit-any
type WitProvider = any;

/**
 * A provider. Like host-harness, it gives each lock and each sync service
 * an instance of its own that mounts the directories they are handed, so
 * a mount exists only where a caller named it.
 */
function providerOf(
  spec: PackagedComponent,
  modules: Map<string, WebAssembly.Module>,
  // deno-lint-ignore no-explicit-any
  instantiate: (grants: Grants) => any,
  grants: Grants,
  configJson: string,
): DatastoreProvider {
  const withMounts = (extraMounts: string[]): Grants => ({
    ...grants,
    mounts: [...grants.mounts, ...extraMounts.filter((p) => isAbsolute(p))],
  });
  // deno-lint-ignore no-explicit-any
  const openWithExports = (extraMounts: string[]): { exports: any; provider: WitProvider } => {
    const g = withMounts(extraMounts);
    const exports = call("instantiate", () => instantiate(g));
    const provider = call("datastore.create-provider", () => exports.datastore.createProvider(configJson));
    return { exports, provider };
  };
  const open = (extraMounts: string[]): WitProvider => openWithExports(extraMounts).provider;
  const base = open([]);
  const features = call("provider.features", () => base.features()) as {
    sync: boolean;
    cachePath: boolean;
    namespaces: boolean;
  };
  const provider: DatastoreProvider = {
    createLock(datastorePath: string, options: LockOptions = {}) {
      const witProvider = open([datastorePath]);
      const make = (o: LockOptions) =>
        witLockPort(call("provider.create-lock", () =>
          witProvider.createLock(datastorePath, {
            lockKey: o.lockKey,
            ttlMs: toWit.u64("ttlMs", o.ttlMs),
            retryIntervalMs: toWit.u64("retryIntervalMs", o.retryIntervalMs),
            maxWaitMs: toWit.u64("maxWaitMs", o.maxWaitMs),
          })) as WitLock);
      return new DistributedLock(make, options);
    },
    createVerifier() {
      const v = call("provider.create-verifier", () => base.createVerifier());
      return {
        verify: () =>
          Promise.resolve().then(() => fromWit.health(call("verifier.verify", () => v.verify()))),
      };
    },
    resolveDatastorePath(repoDir: string) {
      return call("provider.resolve-datastore-path", () => base.resolveDatastorePath(repoDir));
    },
  };
  if (features.sync) {
    provider.createSyncService = (repoDir: string, cachePath: string) => {
      if (!isAbsolute(cachePath)) {
        throw new TypeError(`cache path ${JSON.stringify(cachePath)} must be absolute`);
      }
      mkdirSync(cachePath, { recursive: true });
      const { exports, provider: p } = openWithExports([repoDir, cachePath]);
      const svc = call(
        "provider.create-sync-service",
        () => p.createSyncService(repoDir, cachePath),
      ) as WitSyncService | undefined;
      if (!svc) {
        throw new Error(`${spec.type} has no sync service for this config (no cache in use)`);
      }
      // A component built against WIT 0.1.0 has no shared-store export.
      const shared: SharedFeatures = exports.sharedStore
        ? call("shared-store.features", () => exports.sharedStore.features(svc))
        : NO_SHARED_FEATURES;
      const worker = new SyncWorker(spec.syncWorkerSource, {
        modules: Object.fromEntries(modules),
        configJson,
        grants: withMounts([repoDir, cachePath]),
        repoDir,
        cachePath,
      });
      return syncServiceOf(call("sync.capabilities", () => svc.capabilities()), worker, shared);
    };
  }
  if (features.cachePath) {
    provider.resolveCachePath = (repoDir: string) =>
      call("provider.resolve-cache-path", () => base.resolveCachePath(repoDir)) ?? undefined;
  }
  if (features.namespaces) {
    provider.registerNamespace = (datastorePath, namespace, repoId) =>
      Promise.resolve().then(() => {
        const p = open([datastorePath]);
        call("provider.register-namespace", () => p.registerNamespace(datastorePath, namespace, repoId));
      });
    provider.listNamespaces = (datastorePath) =>
      Promise.resolve().then(() => {
        const p = open([datastorePath]);
        return call("provider.list-namespaces", () => p.listNamespaces(datastorePath)) as string[];
      });
  }
  return provider;
}
