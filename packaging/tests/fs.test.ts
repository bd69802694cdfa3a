// The packaged fs-datastore under Deno, on real temporary directories.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Any,
  checkAgreesWithComponent,
  checkConfigs,
  checkExportShape,
  checkHeartbeatAndTimeout,
  checkLockLifecycle,
  checkLockLost,
  checkSyncRoundTrip,
  checkTwoContenders,
  loadExtension,
  put,
  read,
  tempDir,
} from "./common.ts";

const { root, datastore } = await loadExtension("fs_datastore");

function withDir(label: string, f: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = tempDir(label);
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test("manifest.yaml lists the module under datastores", () => {
  const manifest = readFileSync(join(root, "manifest.yaml"), "utf8");
  assert.match(manifest, /^datastores:\n( {2}- .*\n)* {2}- fs_datastore\.ts\n/m);
});

Deno.test("fs: swamp can read the type from the module text and take configSchema for a zod schema", () => {
  const source = readFileSync(join(root, "extensions", "datastores", "fs_datastore.ts"), "utf8");
  // swamp indexes a datastore before importing it: the export must be an
  // object literal whose type is a string literal.
  assert.match(source, /^export const datastore = \{\n {2}type: "@swamp-wasm\/fs-datastore",$/m);
  const schema = datastore.configSchema;
  assert.ok("_def" in schema);
  assert.equal(typeof schema.parse, "function");
  assert.equal(typeof schema.safeParse, "function");
  assert.equal(schema.toJSONSchema(), schema.jsonSchema);
});

Deno.test("fs: export shape, and optional methods only where the component has them", withDir("shape", (dir) => {
  assert.equal(datastore.type, "@swamp-wasm/fs-datastore");
  const plain = checkExportShape(datastore, { path: dir });
  assert.equal(plain.resolveDatastorePath("/tmp/test-repo"), dir);
  // No cache: the datastore is local, so no sync service; namespaces yes.
  assert.equal(plain.createSyncService, undefined);
  assert.equal(plain.resolveCachePath, undefined);
  assert.equal(typeof plain.registerNamespace, "function");
  const cached = datastore.createProvider({ path: dir, cache: true });
  assert.equal(typeof cached.createSyncService, "function");
  assert.equal(datastore.configSchema.jsonSchema.properties.path["x-swamp-mount"], true);
}));

Deno.test("fs: shared-store methods exist exactly when the component has them", withDir("shared", (dir) => {
  // SWAMP_COMPONENT_WIT=0.1.0: the packaged component predates the
  // shared-store interface (host-harness/tests/all/deno_extension.rs).
  const old = Deno.env.get("SWAMP_COMPONENT_WIT") === "0.1.0";
  const share = join(dir, "share");
  mkdirSync(share);
  const sync = datastore.createProvider({ path: share, cache: true }).createSyncService(join(dir, "repo"), join(dir, "cache"));
  assert.equal(sync.capabilities().controlPlane, !old);
  for (const m of ["controlPlaneStore", "exportCatalog", "pullForeignCatalogs", "fetchForeignContent", "repairNamespaceContamination"]) {
    assert.equal(typeof sync[m], old ? "undefined" : "function", m);
  }
}));

const fsValid = [{ path: "/srv/swamp" }, { path: "/srv/swamp", cache: true }, { path: "/", cache: false }];
const fsInvalid: [unknown, (string | number)[]][] = [
  [{}, ["path"]],
  [{ path: "relative/dir" }, ["path"]],
  [{ path: "" }, ["path"]],
  [{ path: 5 }, ["path"]],
  [{ path: "/srv", cache: "yes" }, ["cache"]],
  [{ path: "/srv", bucket: "b" }, ["bucket"]],
  ["not an object", []],
];

Deno.test("fs: configSchema accepts and rejects as the JSON Schema does, with issue paths", () => {
  checkConfigs(datastore, fsValid, fsInvalid);
});

Deno.test("fs: configSchema agrees with the component's own validation", async () => {
  await checkAgreesWithComponent(root, "fs_datastore", [...fsValid, ...fsInvalid.map(([c]) => c)]);
});

Deno.test("fs: the lock lifecycle", withDir("lock", async (dir) => {
  const provider = datastore.createProvider({ path: dir });
  await checkLockLifecycle(provider.createLock(dir));
}));

Deno.test("fs: heartbeat keeps a lock past its TTL; a contender times out with LockTimeoutError", withDir("beat", async (dir) => {
  const make = (o: Any) => datastore.createProvider({ path: dir }).createLock(dir, o);
  await checkHeartbeatAndTimeout(make);
}));

Deno.test("fs: a lock force-released while held makes withLock reject with LockLostError", withDir("lost", async (dir) => {
  await checkLockLost((o: Any) => datastore.createProvider({ path: dir }).createLock(dir, o));
}));

Deno.test("fs: two contenders never hold the lock together", withDir("two", async (dir) => {
  await checkTwoContenders(() =>
    datastore.createProvider({ path: dir }).createLock(dir, { retryIntervalMs: 10, maxWaitMs: 20_000 })
  );
}));

Deno.test("fs: a held per-model lock times out naming its holder; an AbortSignal ends the wait", withDir("timeout", async (dir) => {
  const provider = datastore.createProvider({ path: dir });
  const a = provider.createLock(dir, { lockKey: "data/m/1/.lock" });
  const b = provider.createLock(dir, { lockKey: "data/m/1/.lock", maxWaitMs: 200, retryIntervalMs: 50 });
  await a.acquire();
  const err = await b.acquire().then(() => null, (e: Any) => e);
  assert.equal(err?.name, "LockTimeoutError");
  assert.equal(err.lockKey, "data/m/1/.lock");
  assert.equal(err.holder.holder, (await a.inspect()).holder);
  assert.ok(err.waitedMs >= 200);
  // An AbortSignal ends a wait long before maxWaitMs.
  const c = provider.createLock(dir, { lockKey: "data/m/1/.lock", maxWaitMs: 60_000, retryIntervalMs: 20_000 });
  const started = performance.now();
  await assert.rejects(c.acquire({ signal: AbortSignal.timeout(150) }), { name: "AbortError" });
  assert.ok(performance.now() - started < 30_000, "the abort ended the wait");
  await a.release();
}));

Deno.test("fs: the verifier", withDir("verify", async (dir) => {
  const ok = await datastore.createProvider({ path: dir }).createVerifier().verify();
  assert.equal(ok.healthy, true, ok.message);
  assert.equal(ok.datastoreType, datastore.type);
  assert.ok(ok.latencyMs >= 0);
  assert.equal(ok.details.path, dir);
  const missing = join(dir, "does-not-exist");
  const bad = await datastore.createProvider({ path: missing }).createVerifier().verify();
  assert.equal(bad.healthy, false);
  assert.match(bad.message, /does-not-exist/);
}));

Deno.test("fs: sync round trip between two caches of one share", withDir("share", async (dir) => {
  await checkSyncRoundTrip(datastore.createProvider({ path: dir, cache: true }));
}));

Deno.test("fs: namespaces register and list; a bad slug is InvalidArgumentError", withDir("ns", async (dir) => {
  const provider = datastore.createProvider({ path: dir });
  const p = provider.registerNamespace(dir, "team-a", "repo-1");
  assert.ok(p instanceof Promise);
  await p;
  assert.deepEqual(await provider.listNamespaces(dir), ["team-a"]);
  await assert.rejects(provider.registerNamespace(dir, "Bad Slug", "repo-1"), { name: "InvalidArgumentError" });
  await assert.rejects(provider.registerNamespace(dir, "team-a", "repo-2"), { name: "ConflictError" });
}));

Deno.test("fs: the runtime's WASI grants only the mount, the allowed origins and no environment", withDir("sandbox", async (dir) => {
  // The runtime's WASI: a path outside every preopen is unreachable, so a
  // datastore at an unmounted path cannot be verified (the config's path is
  // the mount; the lock's path here is elsewhere and not created).
  const { wasiImports } = await import(`file://${root}/extensions/datastores/_fs_datastore/runtime/wasi.ts`);
  const imports = wasiImports({ mounts: [dir], env: [], origins: ["http://127.0.0.1:9000"], awsRegions: ["eu-west-1"] });
  const dirs = imports["wasi:filesystem/preopens"].getDirectories();
  assert.deepEqual(dirs.map((d: Any) => d[1]), [dir]);
  // Inside the mount a file opens; `..` and a symlink leading out do not.
  const outside = tempDir("outside");
  try {
    writeFileSync(join(dir, "inside"), "in");
    writeFileSync(join(outside, "secret"), "out");
    symlinkSync(outside, join(dir, "link"));
    const mount = dirs[0][0];
    const open = (p: string) => mount.openAt({ symlinkFollow: true }, p, {}, { read: true });
    assert.equal(open("inside").stat().size, 2n);
    assert.throws(() => open("link/secret"), (e: Any) => e === "not-permitted");
    assert.throws(() => open("../" + outside.split("/").pop() + "/secret"), (e: Any) => e === "not-permitted");
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
  const handle = imports["wasi:http/outgoing-handler"].handle;
  const req = (tag: string, authority: string) => ({ scheme: () => ({ tag }), authority: () => authority });
  assert.throws(() => handle(req("HTTP", "127.0.0.1:9001"), undefined), (e: Any) => e.tag === "HTTP-request-denied");
  assert.throws(() => handle(req("HTTP", "localhost:9000"), undefined), (e: Any) => e.tag === "HTTP-request-denied");
  assert.throws(() => handle(req("HTTP", "s3.eu-west-1.amazonaws.com"), undefined), (e: Any) => e.tag === "HTTP-request-denied");
  assert.throws(() => handle(req("HTTPS", "s3.us-east-1.amazonaws.com"), undefined), (e: Any) => e.tag === "HTTP-request-denied");
  assert.deepEqual(imports["wasi:cli/environment"].getEnvironment(), []);
  assert.throws(() => imports["wasi:cli/exit"].exit({ tag: "ok" }), /called exit/);
}));

Deno.test("fs: a long push runs off swamp's thread: heartbeats keep the lock, and an AbortSignal ends the push", withDir("long", async (dir) => {
  const share = join(dir, "share");
  Deno.mkdirSync(share);
  const cache = join(dir, "cache");
  const provider = datastore.createProvider({ path: share, cache: true });
  const sync = provider.createSyncService(join(dir, "repo"), cache);
  const batch = (from: number) => {
    for (let i = from; i < from + 20; i++) put(cache, `data/deno/m${i}/out/1/raw`, `payload ${i}`);
  };
  batch(0);
  await sync.markDirty(); // also starts the worker

  // Aborted while running: the call ends with AbortError (the component
  // stops at its next deadline check; what it finished is kept). Another
  // writer holds the share's index mutex, so the push cannot finish
  // before the abort, however fast the machine: it uploads, then waits
  // for the mutex (for 10 s, guest/fs/core/src/remote.rs) until aborted.
  const mutex = join(share, "_index", ".lock");
  Deno.mkdirSync(join(share, "_index"), { recursive: true });
  Deno.writeTextFileSync(mutex, "another-writer 2026-01-01T00:00:00.000Z");
  const aborted = await sync.pushChanged({ signal: AbortSignal.timeout(30) }).then(
    (n: number) => `finished with ${n}`,
    (e: Any) => e.name,
  );
  assert.equal(aborted, "AbortError");
  // The other writer is done.
  Deno.removeSync(mutex);

  // A push of new files while a lock is held with a short TTL: its
  // heartbeats keep running during the push, so a contender waiting longer
  // than the TTL never takes the lock over.
  batch(20);
  await sync.markDirty();
  const holder = provider.createLock(share, { ttlMs: 600 });
  const contender = provider.createLock(share, { maxWaitMs: 1000, retryIntervalMs: 50 });
  await holder.acquire();
  const [pushed, contended] = await Promise.all([
    sync.pushChanged(),
    contender.acquire().then(() => "acquired", (e: Any) => e.name),
  ]);
  await holder.release();
  assert.equal(contended, "LockTimeoutError");
  assert.ok(pushed >= 20, `pushed ${pushed}`);

  // Nothing was lost or half-written by the abort.
  const other = join(dir, "other-cache");
  const reader = provider.createSyncService(join(dir, "repo2"), other);
  assert.equal(await reader.pullChanged(), 40);
  assert.equal(read(other, "data/deno/m39/out/1/raw"), "payload 39");
  assert.equal(read(other, "data/deno/m0/out/1/raw"), "payload 0");
}));
