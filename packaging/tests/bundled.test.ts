// swamp does not import an extension module where it lies: it bundles it
// into one JavaScript file, stores that elsewhere and imports the bundle.
// These tests do the same with `deno bundle` (swamp's bundler is esbuild,
// as is deno bundle's) into a directory holding nothing else, and drive the
// bundled datastores: nothing may be read from beside the original module.

import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  type Any,
  checkBackend,
  checkLockLifecycle,
  checkSyncRoundTrip,
  env,
  tempDir,
} from "./common.ts";

/** Bundle `{stem}.ts` into a fresh directory and import the bundle. */
async function bundled(stem: string): Promise<{ datastore: Any; dir: string }> {
  const root = env("SWAMP_EXTENSION_DIR");
  const dir = tempDir(`bundle-${stem}`);
  const out = join(dir, `${stem}.js`);
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform=deno", "--no-config", "--quiet", "-o", out, join(root, "extensions", "datastores", `${stem}.ts`)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.ok(res.success, `deno bundle failed:\n${dec.decode(res.stdout)}\n${dec.decode(res.stderr)}`);
  assert.deepEqual(readdirSync(dir), [`${stem}.js`], "the bundle is one file");
  const mod = await import(`file://${out}`);
  checkBackend(mod.datastore);
  return { datastore: mod.datastore, dir };
}

Deno.test("bundled fs-datastore: locks, the verifier and sync work from the single bundled file", async () => {
  const { datastore, dir } = await bundled("fs_datastore");
  const share = tempDir("bundled-share");
  try {
    assert.equal(datastore.type, "@swamp-wasm/fs-datastore");
    assert.equal(datastore.configSchema.safeParse({ path: "relative" }).success, false);
    const provider = datastore.createProvider({ path: share, cache: true });
    await checkLockLifecycle(provider.createLock(share));
    assert.equal((await provider.createVerifier().verify()).healthy, true);
    await checkSyncRoundTrip(provider);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(share, { recursive: true, force: true });
  }
});

Deno.test("bundled s3-datastore: HTTP through the embedded shim worker reaches SeaweedFS", async () => {
  const { datastore, dir } = await bundled("s3_datastore");
  try {
    const provider = datastore.createProvider({
      bucket: env("SWAMP_S3_BUCKET"),
      endpoint: env("SWAMP_S3_ENDPOINT"),
      forcePathStyle: true,
      prefix: `deno-bundled-${Date.now()}`,
    });
    const health = await provider.createVerifier().verify();
    assert.equal(health.healthy, true, health.message);
    await checkLockLifecycle(provider.createLock("/tmp/ds"));
    await checkSyncRoundTrip(provider);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
