// The shared-store methods of the packaged sync services (WIT 0.1.1), used
// the way swamp core uses them: `serve` keeps heartbeats, claims and cron
// fire records in `controlPlaneStore()` (a root store before the namespace
// is bound, the namespace's store after), `datastore catalog pull` reads
// `pullForeignCatalogs`, a CEL expression reading another namespace's data
// calls `fetchForeignContent`, and `doctor datastores` calls
// `repairNamespaceContamination` (dry run, then repair). Each runs on the
// packaged fs-datastore (cache mode, a real directory) and s3-datastore (a
// real SeaweedFS), with a second machine's service reading what the first
// wrote.
//
// Run by host-harness/tests/all/deno_extension.rs (SeaweedFS endpoint and
// bucket in SWAMP_S3_ENDPOINT / SWAMP_S3_BUCKET, credentials in AWS_*).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Any, env, loadExtension, tempDir } from "./common.ts";

const s3 = (await loadExtension("s3_datastore")).datastore;
const fs = (await loadExtension("fs_datastore")).datastore;

let n = 0;
/** A datastore of its own: a share directory, or a bucket prefix. */
function backends(dir: string): [string, Any, Record<string, unknown>, string | undefined][] {
  const share = join(dir, "share");
  // The share exists before swamp uses it (a mounted network directory).
  mkdirSync(share, { recursive: true });
  return [
    ["fs", fs, { path: share, cache: true }, share],
    [
      "s3",
      s3,
      {
        bucket: env("SWAMP_S3_BUCKET"),
        endpoint: env("SWAMP_S3_ENDPOINT"),
        forcePathStyle: true,
        region: "us-east-1",
        prefix: `shared-${Date.now()}-${n++}`,
      },
      undefined,
    ],
  ];
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** A sync service on a fresh cache `name` (a machine of its own). */
function machine(dir: string, datastore: Any, config: Record<string, unknown>, name: string) {
  const provider = datastore.createProvider(config);
  const repo = join(dir, `repo-${name}`);
  mkdirSync(repo, { recursive: true });
  const cache = join(dir, `cache-${name}`);
  return { provider, repo, cache, sync: provider.createSyncService(repo, cache) };
}

/** Mark, write and push `files` (rel under the namespace) in namespace `ns`. */
async function pushIn(m: Any, ns: string, files: Record<string, string>) {
  for (const [rel, body] of Object.entries(files)) {
    const full = `${ns}/${rel}`;
    await m.sync.markDirty({ relPath: full, namespace: ns });
    const p = join(m.cache, full);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
  await m.sync.pushChanged({ namespace: ns });
}

function withDir(label: string, f: (dir: string) => Promise<void>) {
  return async () => {
    const dir = tempDir(label);
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

for (const [name, datastore] of [["fs", fs], ["s3", s3]] as const) {
  Deno.test(`shared store: ${name} advertises controlPlane and has every optional method`, withDir("caps", (dir) => {
    const [, , config] = backends(dir).find(([b]) => b === name)!;
    const { sync } = machine(dir, datastore, config, "a");
    assert.equal(sync.capabilities().controlPlane, true);
    for (const m of [
      "controlPlaneStore",
      "exportCatalog",
      "pullForeignCatalogs",
      "fetchForeignContent",
      "repairNamespaceContamination",
    ]) {
      assert.equal(typeof sync[m], "function", m);
    }
    return Promise.resolve();
  }));
}

Deno.test("shared store: serve's control-plane records, root then namespaced, read by a second machine", withDir("control", async (dir) => {
  for (const [name, datastore, config, share] of backends(dir)) {
    const a = machine(dir, datastore, config, `${name}-a`);
    const b = machine(dir, datastore, config, `${name}-b`);
    // Before any namespaced call: the root's records (serve reads them to
    // migrate them into the namespace).
    const root = a.sync.controlPlaneStore();
    await root.put("heartbeats/instance-1.json", bytes('{"at":1}'));
    await root.put("token-secrets/s1", new Uint8Array([0, 255, 7]));
    await root.put("empty", new Uint8Array());
    // serve hydrates with the namespace; the store made after it is the namespace's.
    await a.sync.pullChanged({ namespace: "team" });
    await b.sync.pullChanged({ namespace: "team" });
    const ours = a.sync.controlPlaneStore();
    const theirs = b.sync.controlPlaneStore();
    assert.equal(await ours.get("heartbeats/instance-1.json"), null, `${name}: the namespace sees the root's record`);
    await ours.put("heartbeats/instance-1.json", bytes('{"at":2}'));
    assert.equal(text(await theirs.get("heartbeats/instance-1.json")), '{"at":2}', name);
    assert.equal(text(await root.get("heartbeats/instance-1.json")), '{"at":1}', `${name}: the root record changed`);
    assert.deepEqual([...(await root.get("token-secrets/s1"))!], [0, 255, 7], name);
    const empty = await root.get("empty");
    assert.ok(empty !== null && empty.length === 0, `${name}: an empty record read as ${empty}`);
    assert.deepEqual(await root.list(""), ["empty", "heartbeats/instance-1.json", "token-secrets/s1"], name);
    assert.deepEqual(await theirs.list("heartbeats/"), ["heartbeats/instance-1.json"], name);
    // Cron fire dedup: machines racing putIfAbsent on one key, one wins.
    const racers = [ours, theirs, machine(dir, datastore, config, `${name}-c`), machine(dir, datastore, config, `${name}-d`)];
    for (const m of racers.slice(2) as Any[]) await m.sync.pullChanged({ namespace: "team" });
    const stores = [ours, theirs, ...racers.slice(2).map((m: Any) => m.sync.controlPlaneStore())];
    const won = await Promise.all(stores.map((s, i) => s.putIfAbsent("fire-records/cron-1", bytes(`racer ${i}`))));
    assert.equal(won.filter((w) => w).length, 1, `${name}: ${won}`);
    assert.equal(text(await ours.get("fire-records/cron-1")), `racer ${won.indexOf(true)}`, name);
    assert.equal(await theirs.putIfAbsent("fire-records/cron-1", bytes("late")), false, name);
    await ours.delete("fire-records/cron-1");
    await ours.delete("fire-records/cron-1");
    assert.equal(await theirs.get("fire-records/cron-1"), null, name);
    // Bad keys are refused, naming the key.
    for (const key of ["../escape", "/abs", "a\\b"]) {
      await assert.rejects(ours.put(key, bytes("x")), { name: "InvalidArgumentError" }, `${name}: ${key}`);
    }
    if (share) {
      // swamp's own layout, so mixed clients read each other's records.
      assert.equal(readFileSync(join(share, "_control/heartbeats/instance-1.json"), "utf8"), '{"at":1}');
      assert.equal(readFileSync(join(share, "team/_control/heartbeats/instance-1.json"), "utf8"), '{"at":2}');
      assert.ok(!existsSync(join(share, "escape")));
    }
  }
}));

Deno.test("shared store: catalogs and foreign content across namespaces", withDir("catalogs", async (dir) => {
  for (const [name, datastore, config, share] of backends(dir)) {
    const infra = machine(dir, datastore, config, `${name}-infra`);
    const app = machine(dir, datastore, config, `${name}-app`);
    const rows = [
      { namespace: "infra", type_normalized: "aws/vpc", model_id: "m1", data_name: "state", version: 2, is_latest: 1, tags: '{"env":"prod"}' },
      { namespace: "infra", type_normalized: "aws/subnet", model_id: "m2", data_name: "state", version: 1, is_latest: 1, tags: "{}" },
    ];
    await infra.sync.exportCatalog("infra", rows);
    await infra.sync.exportCatalog("infra", rows);
    if (share) {
      assert.equal(readFileSync(join(share, "infra/.catalog-export.json"), "utf8"), JSON.stringify(rows));
    }
    const got = await app.sync.pullForeignCatalogs(["security", "infra"]);
    assert.deepEqual(got, [{ namespace: "infra", rows }], name);
    await pushIn(infra, "infra", { "data/aws/vpc/m1/state/2/raw": '{"cidr":"10.0.0.0/16"}' });
    assert.equal(text(await app.sync.fetchForeignContent("infra", "data/aws/vpc/m1/state/2/raw")), '{"cidr":"10.0.0.0/16"}', name);
    assert.equal(await app.sync.fetchForeignContent("infra", "data/aws/vpc/none/raw"), null, name);
    await assert.rejects(app.sync.fetchForeignContent("infra", "../secret"), { name: "InvalidArgumentError" }, name);
    assert.ok(!existsSync(join(app.cache, "infra")), `${name}: foreign content was written into the cache`);
  }
}));

Deno.test("shared store: doctor finds and repairs a contaminated namespace", withDir("repair", async (dir) => {
  for (const [name, datastore, config] of backends(dir)) {
    const a = machine(dir, datastore, config, `${name}-a`);
    const datastorePath = a.provider.resolveDatastorePath(a.repo);
    await a.provider.registerNamespace(datastorePath, "home", "repo-home");
    await a.provider.registerNamespace(datastorePath, "other", "repo-other");
    await pushIn(a, "other", { "workflows/o.yaml": "other's" });
    await pushIn(a, "home", {
      "workflows/h.yaml": "home's",
      "other/workflows/o.yaml": "leaked",
      "other/data/t/m/raw": "leaked",
    });
    const dry = await a.sync.repairNamespaceContamination({ namespace: "home" });
    assert.deepEqual(dry, { foreignNamespaces: [{ namespace: "other", objectCount: 2 }], totalForeignObjects: 2, deleted: 0 }, name);
    const done = await a.sync.repairNamespaceContamination({ namespace: "home", dryRun: false });
    assert.equal(done.deleted, 2, name);
    const fresh = machine(dir, datastore, config, `${name}-fresh`);
    await fresh.sync.pullChanged({ namespace: "home" });
    assert.equal(readFileSync(join(fresh.cache, "home/workflows/h.yaml"), "utf8"), "home's", name);
    assert.ok(!existsSync(join(fresh.cache, "home/other")), `${name}: the foreign files came back`);
    const other = machine(dir, datastore, config, `${name}-other`);
    await other.sync.pullChanged({ namespace: "other" });
    assert.equal(readFileSync(join(other.cache, "other/workflows/o.yaml"), "utf8"), "other's", name);
  }
}));
