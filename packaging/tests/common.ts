// Shared checks for a packaged datastore extension, driven by
// fs.test.ts and s3.test.ts against the real component (transpiled by
// `host-harness package`), a real directory or a real SeaweedFS.
//
// The extension folder comes from the environment (the Rust test
// `host-harness/tests/all/deno_extension.rs` packages it and sets it).

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

// deno-lint-ignore no-explicit-any
export type Any = any;

export const env = (name: string): string => {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} is not set: run these tests through host-harness/tests/all/deno_extension.rs`);
  return v;
};

/**
 * The path the tests asked for (SWAMP_WASM_BACKEND, native or portable) is
 * the one that runs: a silent fall-back would test the other path twice.
 */
export function checkBackend(datastore: Any) {
  const wanted = Deno.env.get("SWAMP_WASM_BACKEND");
  if (wanted) assert.equal(datastore.backend, wanted, `${datastore.type} runs the ${datastore.backend} path`);
}

/** The packaged extension folder and its `datastore` export. */
export async function loadExtension(stem: string): Promise<{ root: string; datastore: Any }> {
  const root = env("SWAMP_EXTENSION_DIR");
  const mod = await import(`file://${root}/extensions/datastores/${stem}.ts`);
  checkBackend(mod.datastore);
  return { root, datastore: mod.datastore };
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `swamp-deno-${label}-`));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** swamp's export shape as its conformance kit checks it (docs/contract.md §1.1, §9.1), on a provider from `config`. */
export function checkExportShape(datastore: Any, config: Record<string, unknown>) {
  assert.match(datastore.type, /^@?[a-z][a-z0-9_-]*\/[a-z0-9][a-z0-9_-]*$/);
  assert.ok(datastore.name.length > 0);
  assert.ok(datastore.description.length > 0);
  assert.equal(typeof datastore.configSchema.safeParse, "function");
  assert.equal(typeof datastore.configSchema.parse, "function");
  assert.equal(typeof datastore.createProvider, "function");
  const provider = datastore.createProvider(config);
  for (const m of ["createLock", "createVerifier", "resolveDatastorePath"]) {
    assert.equal(typeof provider[m], "function", m);
  }
  const path = provider.resolveDatastorePath("/tmp/test-repo");
  assert.equal(typeof path, "string");
  assert.ok(path.length > 0);
  const lock = provider.createLock(path);
  for (const m of ["acquire", "release", "withLock", "inspect", "forceRelease"]) {
    assert.equal(typeof lock[m], "function", m);
  }
  assert.equal(typeof provider.createVerifier().verify, "function");
  return provider;
}

/** Every config in `valid` parses; every `[config, path]` in `invalid` fails with an issue at `path`. */
export function checkConfigs(
  datastore: Any,
  valid: Record<string, unknown>[],
  invalid: [unknown, (string | number)[]][],
) {
  for (const c of valid) {
    const r = datastore.configSchema.safeParse(c);
    assert.equal(r.success, true, `${JSON.stringify(c)} should be accepted: ${r.error?.message}`);
    assert.deepEqual(datastore.configSchema.parse(c), c);
  }
  for (const [c, path] of invalid) {
    const r = datastore.configSchema.safeParse(c);
    assert.equal(r.success, false, `${JSON.stringify(c)} should be rejected`);
    const paths = r.error.issues.map((i: Any) => JSON.stringify(i.path));
    assert.ok(paths.includes(JSON.stringify(path)), `${JSON.stringify(c)}: issues at ${paths}, expected ${JSON.stringify(path)}`);
    assert.throws(() => datastore.configSchema.parse(c), { name: "InvalidConfigError" });
    // createProvider refuses it too, with the same error.
    assert.throws(() => datastore.createProvider(c), { name: "InvalidConfigError" });
  }
}

/**
 * safeParse agrees with the component's own validation (its
 * create-provider validates again against the same schema): each config is
 * handed to a raw instance of the component, bypassing the runtime's check.
 */
export async function checkAgreesWithComponent(root: string, stem: string, configs: unknown[]) {
  const lib = `${root}/extensions/datastores/_${stem}`;
  const { instantiate } = await import(`file://${lib}/component/${stem}.js`);
  const { cores } = await import(`file://${lib}/component/cores.js`);
  const { wasiImports } = await import(`file://${lib}/runtime/wasi.ts`);
  const { datastore } = await import(`file://${root}/extensions/datastores/${stem}.ts`);
  const modules = new Map<string, WebAssembly.Module>();
  const raw = instantiate((name: string) => {
    if (!modules.has(name)) {
      modules.set(name, new WebAssembly.Module(Buffer.from(cores[name], "base64")));
    }
    return modules.get(name);
  }, wasiImports({ mounts: [], env: [], origins: [], awsRegions: [] }));
  for (const c of configs) {
    let component: boolean;
    try {
      raw.datastore.createProvider(JSON.stringify(c));
      component = true;
    } catch (e) {
      assert.equal((e as Any).payload?.tag, "invalid-config", `${JSON.stringify(c)}: ${e}`);
      component = false;
    }
    assert.equal(datastore.configSchema.safeParse(c).success, component, `verdicts differ on ${JSON.stringify(c)}`);
  }
}

/** swamp's lock checks (docs/contract.md §9.2), in order, on one reusable lock; plus Promise returns. */
export async function checkLockLifecycle(lock: Any) {
  const p = lock.inspect();
  assert.ok(p instanceof Promise, "inspect returns a Promise");
  assert.equal(await p, null);
  await lock.acquire();
  const info = await lock.inspect();
  assert.equal(typeof info.holder, "string");
  assert.match(info.holder, /@/);
  assert.equal(info.pid, Deno.pid);
  assert.equal(typeof info.acquiredAt, "string");
  assert.equal(info.ttlMs, lock.ttlMs);
  assert.equal(typeof info.nonce, "string");
  await lock.release();
  assert.equal(await lock.inspect(), null);
  await lock.release(); // idempotent

  assert.equal(await lock.withLock(() => 42), 42);
  assert.equal(await lock.inspect(), null);

  await assert.rejects(lock.withLock(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await lock.inspect(), null, "withLock released after the callback threw");

  await lock.acquire();
  const nonce = (await lock.inspect()).nonce;
  assert.equal(await lock.forceRelease("wrong-nonce-value"), false);
  assert.notEqual(await lock.inspect(), null, "a wrong nonce leaves the lock held");
  assert.equal(await lock.forceRelease(nonce), true);
  assert.equal(await lock.inspect(), null);
  await lock.release();
}

/**
 * A held lock outlives its TTL because the heartbeat renews it (a
 * contender waiting past the TTL times out instead of taking over); the
 * timeout is a `LockTimeoutError` naming key, holder and time waited.
 * Deno's op sanitizer fails the test if the heartbeat timer outlives the
 * release.
 */
export async function checkHeartbeatAndTimeout(makeLock: (o: Any) => Any) {
  const ttlMs = 1500;
  const holder = makeLock({ ttlMs });
  const contender = makeLock({ ttlMs, maxWaitMs: 2600, retryIntervalMs: 100 });
  await holder.acquire();
  const first = (await holder.inspect()).acquiredAt;
  let err: Any;
  try {
    await contender.acquire();
  } catch (e) {
    err = e;
  }
  assert.ok(err, "the contender must not take over a lock kept alive by heartbeats");
  assert.ok((err as unknown) instanceof Error);
  assert.equal(err.name, "LockTimeoutError");
  assert.equal(err.code, "lock_timeout");
  assert.equal(err.lockKey, holder.lockKey);
  assert.ok(err.waitedMs >= 2600, `waited ${err.waitedMs}`);
  const held = await holder.inspect();
  assert.equal(err.holder.nonce, held.nonce);
  assert.equal(err.holder.pid, Deno.pid);
  assert.match(err.message, /held by .*\(pid \d+\) — timed out after \d+ms/);
  assert.notEqual(held.acquiredAt, first, "the heartbeat rewrote acquiredAt");
  await holder.release();
  // Released: the contender gets it at once.
  await contender.acquire();
  await contender.release();
}

/**
 * Fencing reaches the caller: when the lock is force-released while held,
 * the next heartbeat finds it lost and withLock rejects with LockLostError
 * once the callback is done (the work was not protected).
 */
export async function checkLockLost(makeLock: (o: Any) => Any) {
  const lock = makeLock({ ttlMs: 900 });
  const other = makeLock({});
  const run = lock.withLock(async () => {
    const nonce = (await lock.inspect()).nonce;
    assert.equal(await other.forceRelease(nonce), true);
    await sleep(700); // two heartbeats (every 300 ms)
    assert.equal(lock.held, false, "the heartbeat noticed the loss");
    return "done";
  });
  await assert.rejects(run, { name: "LockLostError" });
  // The handle is usable again.
  await lock.acquire();
  await lock.release();
}

/** Two contenders on separate instances never hold the lock together. */
export async function checkTwoContenders(makeLock: () => Any) {
  const a = makeLock();
  const b = makeLock();
  let inside = 0;
  let maxInside = 0;
  const order: string[] = [];
  const work = async (lock: Any, who: string) => {
    for (let i = 0; i < 4; i++) {
      await lock.withLock(async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        order.push(who);
        await sleep(30);
        inside--;
      });
    }
  };
  await Promise.all([work(a, "a"), work(b, "b")]);
  assert.equal(maxInside, 1, "both contenders held the lock at once");
  assert.equal(order.length, 8);
  assert.ok(order.includes("a") && order.includes("b"));
  assert.equal(await a.inspect(), null);
}

/** Write `rel` under `root` (parents created). */
export function put(root: string, rel: string, body: string) {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, body);
}

export const read = (root: string, rel: string) => readFileSync(join(root, rel), "utf8");

/**
 * A round trip between two caches of one remote: push counts, pull counts,
 * zero-diff calls return 0, a deletion travels, and an aborted signal ends
 * a call with an AbortError before it does anything.
 */
export async function checkSyncRoundTrip(provider: Any) {
  const repo1 = tempDir("repo1");
  const repo2 = tempDir("repo2");
  const cache1 = join(tempDir("c1"), "cache");
  const cache2 = join(tempDir("c2"), "cache");
  try {
    const s1 = provider.createSyncService(repo1, cache1);
    const s2 = provider.createSyncService(repo2, cache2);
    const raw = "data/deno/m1/out/1/raw";
    const latest = "data/deno/m1/out/latest";
    await s1.markDirty({ relPath: raw });
    put(cache1, raw, "payload one");
    await s1.markDirty({ relPath: latest });
    put(cache1, latest, "1");
    const pushed = s1.pushChanged();
    assert.ok(pushed instanceof Promise);
    assert.equal(await pushed, 2);
    assert.equal(await s1.pushChanged(), 0, "zero-diff push");

    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(s2.pullChanged({ signal: aborted.signal }), { name: "AbortError" });
    assert.throws(() => read(cache2, raw), "an aborted pull downloads nothing");

    assert.equal(await s2.pullChanged(), 2);
    assert.equal(read(cache2, raw), "payload one");
    assert.equal(read(cache2, latest), "1");
    assert.equal(await s2.pullChanged(), 0, "zero-diff pull");

    // Cache 2 changes one file and deletes the other; cache 1 follows.
    await s2.markDirty({ relPath: latest });
    put(cache2, latest, "2");
    await s2.markDirty({ relPath: raw });
    rmSync(join(cache2, raw));
    assert.equal(await s2.pushChanged(), 2);
    // A pull counts files downloaded: the changed one (the deletion is
    // applied but not a download).
    assert.equal(await s1.pullChanged(), 1);
    assert.equal(read(cache1, latest), "2");
    assert.throws(() => read(cache1, raw), "the deletion reached cache 1");

    await assert.rejects(s1.markDirty({ relPath: "../escape" }), { name: "InvalidArgumentError" });
  } finally {
    for (const d of [repo1, repo2, dirname(cache1), dirname(cache2)]) rmSync(d, { recursive: true, force: true });
  }
}
