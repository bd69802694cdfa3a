// `swamp model method run`, and a workflow step, driven through the
// packaged datastores the way swamp's CLI drives a datastore with a sync
// service: the per-model lock, a pull scoped to the model, every write
// announced with markDirty before it happens, then the push naming the
// model in `context.models` (two-phase: preparePush under the model's lock,
// commitPush under the global lock too; one-phase: pushChanged under both).
//
// One run writes files outside the model's own folders: the output record
// lives under the method's name, the evaluated definition under the
// model's name, a workflow's run record under `workflow-runs/`. A push must
// upload every path marked dirty whatever the context says (the context
// may only narrow a pull), so a second machine gets every file, byte for
// byte. The same scenario runs in Rust through swamp-host in
// swamp-host/tests/all/s3/datastore.rs and swamp-host/tests/all/fs/datastore.rs.
//
// Run by host-harness/tests/all/deno_extension.rs (SeaweedFS endpoint and
// bucket in SWAMP_S3_ENDPOINT / SWAMP_S3_BUCKET, credentials in AWS_*).

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Any, env, loadExtension, tempDir } from "./common.ts";

const s3Datastore = (await loadExtension("s3_datastore")).datastore;
const fsDatastore = (await loadExtension("fs_datastore")).datastore;

// The model: swamp's normalized type, the definition's id (a UUID) and
// name, and the method run; the workflow and its run.
const TYPE = "command/shell";
const ID = "5d0c8f3e-2b71-4a96-8e4f-9a3c1b7d6e20";
const NAME = "hello";
const METHOD = "execute";
const WORKFLOW = "c41d7a52-93e8-4f0b-b6a1-0e2f58d9c374";
const WORKFLOW_RUN = "8a9b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d";

/** What swamp passes to a scoped pull and to every push of this run. */
const scoped = { context: { models: [{ modelType: TYPE, modelId: ID }] } };
/** The model's data directory: all a push filtered by the context would upload. */
const DATA_DIR = `data/${TYPE}/${ID}/`;

type Files = Map<string, Uint8Array>;
const bytes = (s: string) => new TextEncoder().encode(s);

/** Write `body` at `cache/rel` (parents created) and remember it. */
function write(cache: string, files: Files, rel: string, body: Uint8Array) {
  const p = join(cache, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, body);
  files.set(rel, body);
}

/**
 * One method run of `hello` as it touches the cache, in swamp's order:
 * each path announced before its write, at swamp's granularity (the YAML
 * records file by file; a data item's directory before a version is
 * allocated, a streamed file's version directory again when it is
 * finalised). `stamp` is the start time as the output record's file name
 * carries it. Returns every file written with its final bytes.
 */
async function methodRun(svc: Any, cache: string, version: number, stamp: string): Promise<Files> {
  const files: Files = new Map();
  const mark = (relPath: string) => svc.markDirty({ relPath });
  const evaluated = `definitions-evaluated/${TYPE}/${NAME}.yaml`;
  await mark(evaluated);
  write(cache, files, evaluated, bytes(`id: ${ID}\nname: ${NAME}\ntype: ${TYPE}\nrun: ${version}\n`));
  const output = `outputs/${TYPE}/${METHOD}/${ID}-${stamp}.yaml`;
  await mark(output);
  write(cache, files, output, bytes(`definitionId: ${ID}\nstatus: running\n`));
  // The `result` resource: one save.
  const result = `${DATA_DIR}result`;
  await mark(result);
  write(cache, files, `${result}/${version}/metadata.yaml`, bytes(`name: result\nversion: ${version}\n`));
  write(cache, files, `${result}/${version}/raw`, bytes(`{"exitCode":0,"run":${version}}`));
  write(cache, files, `${result}/latest`, bytes(String(version)));
  // The `log` file: version allocated, content streamed, then finalised.
  const log = `${DATA_DIR}log`;
  await mark(log);
  const raw = new Uint8Array([...Array(256).keys(), ...bytes(`[stdout]\nhello ${version}\n`)]); // not UTF-8
  write(cache, files, `${log}/${version}/raw`, raw);
  await mark(`${log}/${version}`);
  write(cache, files, `${log}/${version}/metadata.yaml`, bytes(`name: log\nversion: ${version}\n`));
  write(cache, files, `${log}/latest`, bytes(String(version)));
  // The output record again, with the final status.
  await mark(output);
  write(cache, files, output, bytes(`definitionId: ${ID}\nstatus: succeeded\nrun: ${version}\n`));
  return files;
}

/** Every file of a cache but the sync service's own (its dot-files at the root). */
function cacheTree(root: string): Files {
  const out: Files = new Map();
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      // The sync service's own state: dot-files and `_index/` (never synced).
      if (rel === "" && (e.name.startsWith(".") || e.name === "_index")) continue;
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else out.set(r, new Uint8Array(readFileSync(join(root, r))));
    }
  };
  walk("");
  return out;
}

/** `got` holds exactly `want`, byte for byte. */
function sameFiles(what: string, want: Files, got: Files) {
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, what);
  for (const [rel, body] of want) {
    assert.ok(Buffer.from(got.get(rel)!).equals(Buffer.from(body)), `${what}: ${rel} differs`);
  }
}

/**
 * The scenario on `provider`: machine A runs the method (two-phase push),
 * machines C (scoped pull) and B (unscoped pull) follow; then a workflow
 * step on A (one-phase push), and B follows again.
 */
async function modelRunScenario(provider: Any, dir: string) {
  const repo = join(dir, "repo");
  mkdirSync(repo, { recursive: true });
  const [cacheA, cacheB, cacheC] = ["a", "b", "c"].map((n) => join(dir, `cache-${n}`));
  const datastorePath = provider.resolveDatastorePath(repo);
  const a = provider.createSyncService(repo, cacheA);
  const caps = a.capabilities();
  assert.ok(caps.scopedSync && caps.twoPhaseSync, `swamp's scoped two-phase path needs both: ${JSON.stringify(caps)}`);
  assert.equal(typeof a.preparePush, "function");
  assert.equal(typeof a.commitPush, "function");

  const modelLock = provider.createLock(datastorePath, { lockKey: `data/${TYPE}/${ID}/.lock`, maxWaitMs: 60_000 });
  const globalLock = provider.createLock(datastorePath, { maxWaitMs: 60_000 });
  assert.equal(modelLock.lockKey, `data/${TYPE}/${ID}/.lock`);
  assert.equal(globalLock.lockKey, ".datastore.lock");

  // Machine A: `swamp model method run hello execute`.
  let first: Files = new Map();
  await modelLock.withLock(async () => {
    assert.notEqual(await modelLock.inspect(), null, "the model's lock is held");
    assert.equal(await a.pullChanged(scoped), 0);
    first = await methodRun(a, cacheA, 1, "2026-08-22T10-15-30-123Z");
    assert.equal(first.size, 8);
    const outside = [...first.keys()].filter((k) => !k.startsWith(DATA_DIR));
    assert.equal(outside.length, 2, `files outside the model's data: ${outside}`);
    const manifest = await a.preparePush(scoped);
    assert.equal(
      manifest.pushed,
      first.size,
      "preparePush with context.models must upload every marked file, the output record and the evaluated definition too",
    );
    assert.equal(manifest.deleted, 0);
    const committed = await globalLock.withLock(() => a.commitPush(manifest));
    assert.equal(committed, first.size);
  });
  assert.equal(await modelLock.inspect(), null, "the model's lock was released");
  assert.equal(await a.pushChanged(scoped), 0, "nothing left dirty");

  // Machine C pulls scoped to the model: the model's own files arrive.
  const c = provider.createSyncService(repo, cacheC);
  const n = await c.pullChanged(scoped);
  const inC = cacheTree(cacheC);
  assert.equal(n, inC.size);
  for (const [rel, body] of first) {
    if (!rel.startsWith(DATA_DIR)) continue;
    assert.ok(inC.has(rel), `a scoped pull did not bring ${rel}`);
    assert.ok(Buffer.from(inC.get(rel)!).equals(Buffer.from(body)), `${rel} differs after a scoped pull`);
  }
  // Machine B: `swamp datastore sync` (an unscoped pull) gets everything.
  const b = provider.createSyncService(repo, cacheB);
  assert.equal(await b.pullChanged(), first.size);
  sameFiles("cache B after the two-phase push", first, cacheTree(cacheB));

  // Machine A: a workflow step on `hello`. The run record is saved (and
  // marked) before the step takes the model's lock; the step runs the
  // method again and pushes through the one-phase path.
  const changed: Files = new Map();
  const record = `workflow-runs/${WORKFLOW}/workflow-run-${WORKFLOW_RUN}.yaml`;
  await a.markDirty({ relPath: record });
  write(cacheA, changed, record, bytes(`id: ${WORKFLOW_RUN}\nworkflowId: ${WORKFLOW}\nstatus: running\n`));
  await modelLock.withLock(async () => {
    assert.equal(await a.pullChanged(scoped), 0);
    for (const [rel, body] of await methodRun(a, cacheA, 2, "2026-08-22T10-16-02-456Z")) changed.set(rel, body);
    const pushed = await globalLock.withLock(() => a.pushChanged(scoped));
    assert.equal(
      pushed,
      changed.size,
      "pushChanged with context.models must upload every marked file, the workflow's run record too",
    );
  });
  assert.equal(await b.pullChanged(), changed.size);
  const inA = cacheTree(cacheA);
  assert.equal(inA.size, first.size + changed.size - 3); // 3 rewritten in place
  sameFiles("cache B after the one-phase push", inA, cacheTree(cacheB));
}

let n = 0;

Deno.test("model run: s3 pushes every file swamp marked, whatever context.models names", async () => {
  const dir = tempDir("model-run-s3");
  try {
    const provider = s3Datastore.createProvider({
      bucket: env("SWAMP_S3_BUCKET"),
      endpoint: env("SWAMP_S3_ENDPOINT"),
      forcePathStyle: true,
      region: "us-east-1",
      prefix: `deno-model-run-${Date.now()}-${n++}`,
    });
    await modelRunScenario(provider, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("model run: fs in cache mode pushes every file swamp marked, whatever context.models names", async () => {
  const dir = tempDir("model-run-fs");
  try {
    const share = join(dir, "share");
    mkdirSync(share);
    await modelRunScenario(fsDatastore.createProvider({ path: share, cache: true }), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
