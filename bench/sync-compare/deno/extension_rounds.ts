// Figure h: the packaged s3-datastore under Deno, driven as swamp drives a
// datastore with a sync service, timing each call:
//
//   push      markDirty() over the whole cache, then pushChanged()
//   zeroPush  pushChanged() with nothing changed (median of 5)
//   pull      pullChanged() into an empty second cache
//   zeroPull  pullChanged() again, nothing changed (median of 5)
//   editPush  markDirty({relPath}) then, after the file is rewritten with
//             new bytes of the same size, pushChanged() (the two calls;
//             median of EDITS such edits of files spread over the tree)
//   editPull  pullChanged() in the second cache, which must fetch the edit
//             (median of EDITS)
//   verify    one verifier's verify() (median of 200): the cost of a call
//
// The pulled tree is compared byte for byte with the source (untimed).
// SWAMP_WASM_BACKEND picks the extension's path (native or portable).
// Run by bench/sync-compare/src/bin/inside_swamp/deno.rs:
//   deno run --allow-all extension_rounds.ts <extension dir>
// with BENCH_* in the environment; prints the times in ms as JSON.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Every file under `root`, relative, sorted. */
function walk(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(rel ? `${root}/${rel}` : root, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(root, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

const env = (k: string): string => {
  const v = Deno.env.get(k);
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const [extDir] = Deno.args;
const mod = await import(`file://${extDir}/extensions/datastores/s3_datastore.ts`);
const datastore = mod.datastore;
const wanted = Deno.env.get("SWAMP_WASM_BACKEND");
if (wanted && datastore.backend !== wanted) throw new Error(`wanted the ${wanted} path, got ${datastore.backend}`);

const files = Number(env("BENCH_FILES"));
/** Same-size edits timed (keep equal to EDITS in scenario.rs). */
const EDITS = 5;
const source = env("BENCH_SOURCE");
const cacheA = env("BENCH_CACHE_A"); // a copy of the source, made untimed
const cacheB = env("BENCH_CACHE_B"); // empty
const concurrency = Number(env("BENCH_CONCURRENCY"));
const provider = datastore.createProvider({
  bucket: env("BENCH_BUCKET"),
  endpoint: env("BENCH_ENDPOINT"),
  region: env("BENCH_REGION"),
  prefix: env("BENCH_PREFIX"),
  forcePathStyle: true,
  pushConcurrency: concurrency,
  pullConcurrency: concurrency,
});
const a = provider.createSyncService(`${cacheA}.repo`, cacheA);
const b = provider.createSyncService(`${cacheB}.repo`, cacheB);

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await f();
  return [performance.now() - t, v];
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
function expect(what: string, got: number, want: number) {
  if (got !== want) throw new Error(`${what}: ${got} files, expected ${want}`);
}

const out: Record<string, number> = {};
await a.markDirty();
const [push, pushed] = await time(() => a.pushChanged());
expect("push", pushed, files);
out.push = push;

const zeroPushes: number[] = [];
for (let i = 0; i < 5; i++) {
  const [ms, n] = await time(() => a.pushChanged());
  expect("zero-diff push", n, 0);
  zeroPushes.push(ms);
}
out.zeroPush = median(zeroPushes);

const [pull, pulled] = await time(() => b.pullChanged());
expect("pull", pulled, files);
out.pull = pull;

const zeroPulls: number[] = [];
for (let i = 0; i < 5; i++) {
  const [ms, n] = await time(() => b.pullChanged());
  expect("zero-diff pull", n, 0);
  zeroPulls.push(ms);
}
out.zeroPull = median(zeroPulls);

// Byte for byte (untimed): every file of the source is in the pulled cache.
const rels = walk(source);
for (const rel of rels) {
  const want = readFileSync(`${source}/${rel}`);
  const got = readFileSync(`${cacheB}/${rel}`);
  if (!want.equals(got)) throw new Error(`pulled ${rel} differs from the source`);
}

// Same-size edits, as swamp makes them: mark, write, push; then the pull
// of each. EDITS files spread over the tree, each time the median.
const editPushes: number[] = [];
const editPulls: number[] = [];
for (let e = 0; e < EDITS; e++) {
  const edited = rels[Math.floor(((e + 0.5) * rels.length) / EDITS)];
  const [mark] = await time(() => a.markDirty({ relPath: edited }));
  const bytes = readFileSync(`${cacheA}/${edited}`);
  for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i] ^ 0x5a;
  writeFileSync(`${cacheA}/${edited}`, bytes);
  const [editPush, n1] = await time(() => a.pushChanged());
  expect("push of the edit", n1, 1);
  editPushes.push(mark + editPush);
  const [editPull, n2] = await time(() => b.pullChanged());
  expect("pull of the edit", n2, 1);
  if (!readFileSync(`${cacheB}/${edited}`).equals(bytes)) throw new Error("the pulled edit differs");
  editPulls.push(editPull);
}
out.editPush = median(editPushes);
out.editPull = median(editPulls);

// What one call costs on this path: a verify (one HEAD of the bucket in
// the guest), 200 times, median; swamp-host's own is measured beside it.
const verifier = provider.createVerifier();
const verifies: number[] = [];
for (let i = 0; i < 200; i++) {
  const [ms, h] = await time(() => verifier.verify());
  if (!h.healthy) throw new Error(`verify: ${h.message}`);
  verifies.push(ms);
}
out.verify = median(verifies);

console.log(JSON.stringify(out));
