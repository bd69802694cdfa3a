// The sandbox walls of a packaged extension on its native path, each shown
// with the hostile guest (guest/test-guests/src/bin/hostile.rs) or a server that never
// answers: a memory limit per instance, a deadline per call for provider,
// lock and sync calls alike, swamp's thread free during every call, and
// the allow-lists. `host-harness/tests/all/deno_extension.rs` packages the
// guests and sets the limits (64 MiB, calls 1.5 s + 0.5 s grace).

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { type Any, env, loadExtension, sleep, tempDir } from "./common.ts";

const hostile = (await loadExtension("hostile")).datastore;
const s3 = (await loadExtension("s3_datastore")).datastore;
const fs = (await loadExtension("fs_datastore")).datastore;

const CALL_MS = Number(env("SWAMP_WASM_CALL_TIMEOUT_MS"));
const GRACE_MS = Number(env("SWAMP_WASM_GRACE_MS"));
const SYNC_MS = Number(env("SWAMP_WASM_SYNC_TIMEOUT_MS"));
/** swamp-host's epoch tick (EPOCH_TICK in swamp-host/src/host.rs). */
const EPOCH_TICK_MS = 10;

/**
 * Run `call` while a 10 ms timer ticks on swamp's thread; the time it took
 * and how many ticks came meanwhile (a blocked thread gets none).
 */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; ticks: number; error: Any }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const start = performance.now();
  let error: Any;
  try {
    await call();
  } catch (e) {
    error = e;
  } finally {
    clearInterval(timer);
  }
  return { ms: performance.now() - start, ticks, error };
}

/** `r` is a TimeoutError that came at `deadlineMs` (not long before, not long after) with the thread free. */
function assertDeadline(r: { ms: number; ticks: number; error: Any }, deadlineMs: number, what: string) {
  assert.ok(r.error, `${what} should have been stopped`);
  assert.equal(r.error.name, "TimeoutError", `${what}: ${r.error.name}: ${r.error.message}`);
  // A guest spinning on the CPU is stopped when half the grace is left
  // (swamp-host/src/instance.rs puts its epoch deadline there), which for a
  // 1 ms budget is half the deadline; epochs tick every 10 ms, so the trap
  // may come up to one tick before that (seen: 249 ms of a 501 ms deadline).
  const earliest = deadlineMs * 0.5 - EPOCH_TICK_MS;
  assert.ok(r.ms >= earliest, `${what} stopped after ${r.ms.toFixed(0)} ms, before its deadline of ${deadlineMs} ms`);
  assert.ok(r.ms <= deadlineMs + 3000, `${what} stopped after ${r.ms.toFixed(0)} ms, long past its deadline of ${deadlineMs} ms`);
  // A free thread ticks about every 10 ms; allow a loaded machine half.
  assert.ok(r.ticks >= r.ms / 10 / 4, `${what}: only ${r.ticks} timer ticks in ${r.ms.toFixed(0)} ms: swamp's thread was blocked`);
}

Deno.test("walls: a guest growing past its memory limit gets an error; swamp lives on and a new handle works", async () => {
  const r = await timed(() => hostile.createProvider({ attack: "memory-bomb" }).createVerifier().verify());
  assert.ok(r.error, "the memory bomb should have been stopped");
  assert.match(r.error.message, /memory/i, r.error.message);
  const health = await hostile.createProvider({ attack: "noop" }).createVerifier().verify();
  assert.equal(health.healthy, true, health.message);
});

Deno.test("walls: provider calls meet their deadline: a spinning and a sleeping verifier", async () => {
  for (const attack of ["spin", "sleep"]) {
    const verifier = hostile.createProvider({ attack }).createVerifier();
    assertDeadline(await timed(() => verifier.verify()), CALL_MS + GRACE_MS, `verify (${attack})`);
  }
});

Deno.test("walls: a lock call meets its deadline: an acquire that spins or sleeps", async () => {
  for (const attack of ["lock-spin", "lock-sleep"]) {
    const lock = hostile.createProvider({ attack }).createLock("/tmp/hostile-lock", { maxWaitMs: 1 });
    // The budget of one attempt is its max-wait (1 ms) plus the grace.
    assertDeadline(await timed(() => lock.acquire()), 1 + GRACE_MS, `acquire (${attack})`);
  }
});

Deno.test("walls: sync calls meet their deadline: a pull and a push that spin or sleep", async () => {
  const repo = tempDir("walls-repo");
  const cache = tempDir("walls-cache");
  try {
    for (const attack of ["sync-spin", "sync-sleep"]) {
      const svc = hostile.createProvider({ attack }).createSyncService(repo, cache);
      assertDeadline(await timed(() => svc.pullChanged()), SYNC_MS + GRACE_MS, `pullChanged (${attack})`);
    }
    const svc = hostile.createProvider({ attack: "sync-spin" }).createSyncService(repo, cache);
    assertDeadline(await timed(() => svc.pushChanged()), SYNC_MS + GRACE_MS, "pushChanged (sync-spin)");
  } finally {
    rmSync(repo, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

Deno.test("walls: a synchronous method of swamp's contract that spins is stopped at its deadline", () => {
  const provider = hostile.createProvider({ attack: "resolve-spin" });
  const start = performance.now();
  assert.throws(() => provider.resolveDatastorePath("/tmp/repo"), { name: "TimeoutError" });
  const ms = performance.now() - start;
  assert.ok(ms <= CALL_MS + GRACE_MS + 3000, `resolveDatastorePath held swamp's thread ${ms.toFixed(0)} ms`);
});

Deno.test("walls: against a server that never answers, verify, acquire and pull end at their deadlines", async () => {
  // Accepts connections and never says a word.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) held.push(c);
    } catch {
      // Closed at the end of the test.
    }
  })();
  const repo = tempDir("walls-silent-repo");
  try {
    const provider = s3.createProvider({
      bucket: "silent",
      endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
      forcePathStyle: true,
    });
    assertDeadline(await timed(() => provider.createVerifier().verify()), CALL_MS + GRACE_MS, "verify");
    const lock = provider.createLock("/tmp/silent", { maxWaitMs: 1 });
    assertDeadline(await timed(() => lock.acquire()), 1 + GRACE_MS, "acquire");
    const svc = provider.createSyncService(repo, `${repo}/cache`);
    assertDeadline(await timed(() => svc.pullChanged()), SYNC_MS + GRACE_MS, "pullChanged");
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting;
    rmSync(repo, { recursive: true, force: true });
  }
});

Deno.test("walls: a held lock's heartbeats go on while another call spins", async () => {
  const share = tempDir("walls-share");
  try {
    const provider = fs.createProvider({ path: share });
    // A lease shorter than the spinning call: only heartbeats keep it.
    const lock = provider.createLock(share, { lockKey: "walls", ttlMs: 600 });
    await lock.acquire();
    const before = await lock.inspect();
    const r = await timed(() => hostile.createProvider({ attack: "spin" }).createVerifier().verify());
    assertDeadline(r, CALL_MS + GRACE_MS, "verify (spin)");
    // Past three leases: a contender sees a live lock, not a stale one.
    const rival = fs.createProvider({ path: share }).createLock(share, { lockKey: "walls", maxWaitMs: 1 });
    await assert.rejects(() => rival.acquire(), { name: "LockTimeoutError" });
    const after = await lock.inspect();
    assert.equal(after?.nonce, before?.nonce, "the lock is still the first holder's");
    await lock.release();
  } finally {
    rmSync(share, { recursive: true, force: true });
  }
});

Deno.test("walls: the allow-lists hold: files, HTTP, environment, sockets", async () => {
  const refused = async (config: Record<string, unknown>) => {
    const h = await hostile.createProvider(config).createVerifier().verify();
    assert.equal(h.healthy, false, `${JSON.stringify(config)} got through: ${h.message}`);
    return h.message as string;
  };
  await refused({ attack: "read-file", target: "/etc/hostname" });
  await refused({ attack: "write-file", target: "/tmp/hostile-escaped" });
  await refused({ attack: "env", target: "HOME" });
  await refused({ attack: "tcp", target: "127.0.0.1:22" });
  await refused({ attack: "dns", target: "localhost:80" });
  const denied = await refused({ attack: "http", target: "http://127.0.0.1:9/not-allowed" });
  assert.match(denied, /denied/i, denied);
  // What the config grants does get through.
  Deno.env.set("HOSTILE_ALLOWED_VAR", "granted");
  const h = await hostile.createProvider({ attack: "env", target: "HOSTILE_ALLOWED_VAR" }).createVerifier().verify();
  assert.equal(h.healthy, true, h.message);
  await sleep(0);
});
