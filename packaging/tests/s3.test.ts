// The packaged s3-datastore under Deno against a real SeaweedFS, started by
// host-harness/tests/all/deno_extension.rs on 127.0.0.1 (endpoint and bucket in
// SWAMP_S3_ENDPOINT / SWAMP_S3_BUCKET; credentials only in AWS_* variables,
// which reach the component through the schema's `x-swamp-env`).

import assert from "node:assert/strict";
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
  env,
  loadExtension,
} from "./common.ts";

const { root, datastore } = await loadExtension("s3_datastore");
const endpoint = env("SWAMP_S3_ENDPOINT");
const bucket = env("SWAMP_S3_BUCKET");

let n = 0;
/** A config on a prefix of its own, so tests never see each other's objects. */
const config = (extra: Record<string, unknown> = {}) => ({
  bucket,
  endpoint,
  forcePathStyle: true,
  region: "us-east-1",
  prefix: `deno-${Date.now()}-${n++}`,
  ...extra,
});

Deno.test("s3: export shape, and optional methods only where the component has them", () => {
  assert.equal(datastore.type, "@swamp-wasm/s3-datastore");
  const provider = checkExportShape(datastore, config());
  assert.equal(typeof provider.createSyncService, "function");
  assert.equal(provider.resolveCachePath, undefined);
  assert.equal(provider.resolveDatastorePath("/tmp/test-repo"), "/tmp/test-repo/.swamp");
  assert.deepEqual(datastore.configSchema.jsonSchema["x-swamp-env"], [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
  ]);
});

const s3Valid = [{ bucket: "my-bucket" }, { bucket: "my-bucket", prefix: "a/b", region: "eu-west-1" }, config()];
const s3Invalid: [unknown, (string | number)[]][] = [
  [{}, ["bucket"]],
  [{ bucket: "Upper_Case" }, ["bucket"]],
  [{ bucket: "ok-bucket", endpoint: "ftp://host" }, ["endpoint"]],
  [{ bucket: "ok-bucket", region: "EU WEST" }, ["region"]],
  [{ bucket: "ok-bucket", pullConcurrency: 0 }, ["pullConcurrency"]],
  [{ bucket: "ok-bucket", requestTimeoutMs: 1.5 }, ["requestTimeoutMs"]],
  [{ bucket: "ok-bucket", accessKeyId: "" }, ["accessKeyId"]],
  [{ bucket: "ok-bucket", colour: "blue" }, ["colour"]],
];

Deno.test("s3: configSchema accepts and rejects as the JSON Schema does, with issue paths", () => {
  checkConfigs(datastore, s3Valid, s3Invalid);
});

Deno.test("s3: configSchema agrees with the component's own validation", async () => {
  await checkAgreesWithComponent(root, "s3_datastore", [...s3Valid, ...s3Invalid.map(([c]) => c)]);
});

Deno.test("s3: the lock lifecycle", async () => {
  const provider = datastore.createProvider(config());
  await checkLockLifecycle(provider.createLock("/tmp/ds"));
});

Deno.test("s3: heartbeat keeps a lock past its TTL; a contender times out with LockTimeoutError", async () => {
  const c = config();
  await checkHeartbeatAndTimeout((o: Any) => datastore.createProvider(c).createLock("/tmp/ds", o));
});

Deno.test("s3: a lock force-released while held makes withLock reject with LockLostError", async () => {
  const c = config();
  await checkLockLost((o: Any) => datastore.createProvider(c).createLock("/tmp/ds", o));
});

Deno.test("s3: two contenders never hold the lock together", async () => {
  const c = config();
  await checkTwoContenders(() =>
    datastore.createProvider(c).createLock("/tmp/ds", { retryIntervalMs: 10, maxWaitMs: 20_000 })
  );
});

Deno.test("s3: the verifier, healthy and on a missing bucket", async () => {
  const ok = await datastore.createProvider(config()).createVerifier().verify();
  assert.equal(ok.healthy, true, ok.message);
  assert.equal(ok.datastoreType, datastore.type);
  assert.ok(ok.latencyMs >= 0);
  assert.equal(ok.details.bucket, bucket);
  const missing = await datastore.createProvider(config({ bucket: "no-such-bucket-here" })).createVerifier().verify();
  assert.equal(missing.healthy, false);
  assert.match(missing.message, /no-such-bucket-here/);
});

Deno.test("s3: wrong credentials are refused by the server as PermissionDeniedError", async () => {
  const lock = datastore.createProvider(config({ accessKeyId: "AKNOBODY", secretAccessKey: "wrong-secret" }))
    .createLock("/tmp/ds", { maxWaitMs: 100 });
  await assert.rejects(lock.acquire(), { name: "PermissionDeniedError" });
});

Deno.test("s3: sync round trip between two caches of one bucket", async () => {
  await checkSyncRoundTrip(datastore.createProvider(config()));
});

Deno.test("s3: the sync service advertises its capabilities and has exactly the optional methods they name", () => {
  const svc = datastore.createProvider(config()).createSyncService(
    Deno.makeTempDirSync(),
    Deno.makeTempDirSync() + "/cache",
  );
  const caps = svc.capabilities();
  assert.equal(typeof caps.scopedSync, "boolean");
  assert.equal(typeof svc.hydrateFile === "function", caps.lazyHydration === true);
  assert.equal(typeof svc.preparePush === "function", caps.twoPhaseSync === true);
  assert.equal(typeof svc.previewPush === "function", caps.previewPush === true);
});
