// Figure h's reference for the JavaScript path: the same object requests a
// sync makes, and nothing else, from a plain Deno script: `fetch` (Deno
// keeps connections alive), N requests in flight, signed by the npm
// package aws4fetch, files read and written with Deno's file API (no
// index, no hashing, no fsync). What a packaged extension could at best
// be inside swamp.
//
// Run by bench/sync-compare/src/bin/inside_swamp/deno.rs:
//   deno run --allow-all plain_fetch.ts <aws4fetch.esm.mjs> push|pull
// with BENCH_* in the environment; prints {"ms": ..., "files": ...}.

const [aws4fetchPath, mode] = Deno.args;
const { AwsClient } = await import(`file://${aws4fetchPath}`);

const env = (k: string): string => {
  const v = Deno.env.get(k);
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const endpoint = env("BENCH_ENDPOINT");
const bucket = env("BENCH_BUCKET");
const prefix = env("BENCH_PREFIX");
const dir = env("BENCH_DIR");
const inFlight = Number(env("BENCH_CONCURRENCY"));
const aws = new AwsClient({
  accessKeyId: env("AWS_ACCESS_KEY_ID"),
  secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  region: env("BENCH_REGION"),
  service: "s3",
});

const objectUrl = (key: string) => `${endpoint}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

/** Run `f` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, f: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

async function walk(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await walk(root, r));
    else if (e.isFile) out.push(r);
  }
  return out;
}

async function check(res: Response, what: string) {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

async function push(): Promise<number> {
  const files = await walk(dir);
  await pool(files, inFlight, async (rel) => {
    const body = await Deno.readFile(`${dir}/${rel}`);
    const res = await aws.fetch(objectUrl(`${prefix}/${rel}`), { method: "PUT", body });
    await check(res, `PUT ${rel}`);
    await res.body?.cancel();
  });
  return files.length;
}

async function list(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ "list-type": "2", prefix: `${prefix}/` });
    if (token) q.set("continuation-token", token);
    const res = await aws.fetch(`${endpoint}/${bucket}?${q}`);
    await check(res, "ListObjectsV2");
    const xml = await res.text();
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1].replaceAll("&amp;", "&"));
    const next = xml.match(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/);
    if (!next) return keys;
    token = next[1].replaceAll("&amp;", "&");
  }
}

async function pull(): Promise<number> {
  const keys = await list();
  const made = new Set<string>();
  await pool(keys, inFlight, async (key) => {
    const rel = key.slice(prefix.length + 1);
    const res = await aws.fetch(objectUrl(key));
    await check(res, `GET ${key}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const parent = `${dir}/${rel}`.slice(0, `${dir}/${rel}`.lastIndexOf("/"));
    if (!made.has(parent)) {
      await Deno.mkdir(parent, { recursive: true });
      made.add(parent);
    }
    await Deno.writeFile(`${dir}/${rel}`, bytes);
  });
  return keys.length;
}

const start = performance.now();
const files = mode === "push" ? await push() : await pull();
console.log(JSON.stringify({ ms: performance.now() - start, files }));
