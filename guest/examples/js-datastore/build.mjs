// Build the JavaScript datastore into a WebAssembly component.
//
//   npm ci && node build.mjs [--out FILE] [--example DIR]
//
// FILE defaults to target/js-datastore/js_datastore.wasm of the repository;
// DIR (the example's folder, holding src/ and wit/) defaults to this
// script's folder, and is needed when the script is run from a copy (the
// integration test installs the pinned packages and runs this script in
// target/js-datastore, leaving the source tree clean).

import { componentize } from '@bytecodealliance/componentize-js';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { out: { type: 'string' }, example: { type: 'string' } },
});
const example = resolve(args.example ?? dirname(fileURLToPath(import.meta.url)));
const repo = resolve(example, '../../..');
const out = resolve(args.out ?? join(repo, 'target/js-datastore/js_datastore.wasm'));

// The WIT: this example's world with the repository's wit/ as a
// dependency, staged beside the output. A dependency's own deps/ folder is
// not read, so the repository's WASI packages (wit/deps/) go beside it.
const wit = join(dirname(out), 'wit');
await rm(wit, { recursive: true, force: true });
await mkdir(join(wit, 'deps/swamp-datastore'), { recursive: true });
await cp(join(example, 'wit/world.wit'), join(wit, 'world.wit'));
for (const entry of await readdir(join(repo, 'wit'), { withFileTypes: true })) {
  if (entry.isFile() && entry.name.endsWith('.wit')) {
    await cp(join(repo, 'wit', entry.name), join(wit, 'deps/swamp-datastore', entry.name));
  }
}
for (const dep of await readdir(join(repo, 'wit/deps'), { withFileTypes: true })) {
  if (dep.isDirectory()) await cp(join(repo, 'wit/deps', dep.name), join(wit, 'deps', dep.name), { recursive: true });
}

// componentize-js reads the WIT with its own WebAssembly tooling, which sees
// the host's files through @bytecodealliance/preview2-shim (a package it
// imports but lists only as a dev dependency; jco brings it). The shim of
// jco 1.35 (0.26.1) starts with no preopened directory, so without this line
// every build fails with "reading file ...: No such file or directory (os
// error 44)", and so does `jco componentize`.
_setPreopens({ '/': '/' });

// componentize-js resolves the module's relative imports (./lock.js) from
// the working directory: run it in src/.
const started = Date.now();
process.chdir(join(example, 'src'));
const { component } = await componentize({
  sourcePath: join(example, 'src/datastore.js'),
  witPath: wit,
  worldName: 'js-datastore',
  // No `fetch` and no incoming HTTP handler: this datastore makes no requests.
  disableFeatures: ['http', 'fetch-event'],
});
await mkdir(dirname(out), { recursive: true });
await writeFile(out, component);
console.error(`built ${out}: ${component.length} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
