// The imports one component instance gets: WASI from the vendored
// @bytecodealliance/preview2-shim, narrowed to what the config grants (the
// same annotations host-harness reads), and `swamp:datastore/host-info`.
//
// What this can and cannot enforce (see README, "Using a component in
// swamp"): files are limited to the preopened directories (the shim refuses
// absolute paths, `..` above a preopen and symlinks leading out); outgoing
// HTTP is checked here against the allowed origins; the environment is only
// the listed variables; there is no memory limit and no CPU deadline (an
// abort can only move the monotonic clock past a call's own deadline).

// @ts-types="../vendor/preview2-shim/dist/nodejs/index.d.ts"
import * as shim from "../vendor/preview2-shim/dist/nodejs/index.js";
import process from "node:process";
import { hostname, userInfo } from "node:os";
import { closeSync, existsSync, fsyncSync, openSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";

/** What one instance may reach. */
export interface Grants {
  /** Absolute directories mounted read-write at the same path. */
  mounts: string[];
  /** Environment variables passed through (their current values). */
  env: string[];
  /** `scheme://host[:port]` origins HTTP may reach. */
  origins: string[];
  /** AWS regions whose S3 service HTTPS may reach. */
  awsRegions: string[];
}

// The shim refuses to open any file with `mutate-directory` set ("to match
// Wasmtime"), but wasi-libc sets it on every writable open, so no file could
// be written. The flag only governs directory descriptors, which the shim
// does not restrict either; dropping it changes no permission.
// deno-lint-ignore no-explicit-any
const Descriptor = (shim.filesystem.types as any).Descriptor;
if (!Descriptor.prototype.__swampOpenAt) {
  const openAt = Descriptor.prototype.openAt;
  Descriptor.prototype.__swampOpenAt = openAt;
  Descriptor.prototype.openAt = function (
    pathFlags: unknown,
    path: string,
    openFlags: unknown,
    flags: Record<string, boolean>,
  ) {
    return openAt.call(this, pathFlags, path, openFlags, { ...flags, mutateDirectory: false });
  };
}

/** The caller's identity, written into lock files. */
function identity() {
  let user = process.env.USER ?? process.env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  return { user: user || "unknown", hostname: hostname(), pid: process.pid };
}

/**
 * `host-info.flush-files` (wit/host-info.wit): each file flushed to disk,
 * one by one (a synchronous import has no way to wait for several). A path
 * must resolve, links followed, inside a mount, as the shim's own opens do.
 */
function flushFiles(mounts: string[]) {
  const roots = mounts.flatMap((m) => {
    try {
      return [realpathSync(m)];
    } catch {
      return [];
    }
  });
  const inside = (real: string) =>
    roots.some((root) => {
      const rel = relative(root, real);
      return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
    });
  return (paths: string[]) =>
    paths.map((path) => {
      try {
        if (!isAbsolute(path)) throw new Error("not an absolute path");
        if (!inside(realpathSync(path))) throw new Error("not inside a mounted directory");
        const fd = openSync(path, "r");
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        return { tag: "ok", val: undefined };
      } catch (e) {
        // The caller names the path (wit/host-info.wit): Deno's own
        // messages end with the call and the path ("...: open '/x'").
        const message = e instanceof Error ? e.message : String(e);
        return { tag: "err", val: message.replace(/: \w+ '.*'$/, "") };
      }
    });
}

/** `scheme://host[:port]` of a URL, with the default port left out. */
export function originOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

function httpAllowed(grants: Grants, scheme: string, authority: string): boolean {
  let origin: string;
  try {
    origin = originOf(`${scheme}://${authority}`);
  } catch {
    return false;
  }
  if (grants.origins.includes(origin)) return true;
  if (scheme !== "https") return false;
  const host = new URL(origin).host;
  return grants.awsRegions.some((r) => {
    const s3 = `s3.${r}.amazonaws.com`;
    return host === s3 || host.endsWith(`.${s3}`);
  });
}

/** How far the monotonic clock jumps once a call is aborted (60 days). */
const ABORT_JUMP_NS = 60n * 24n * 3600n * 1_000_000_000n;

/**
 * The monotonic clock, jumped forward while `abortFlag[0]` is set: the
 * way to stop a synchronous component call from outside. A call made with
 * a `timeout-ms` then finds its deadline spent at its next check and stops
 * with `aborted`, cleanly, as the WIT asks. Timers are shifted back so a
 * pause the guest takes meanwhile still lasts what it asked.
 */
function abortableClock(abortFlag: Int32Array | undefined) {
  const clock = shim.clocks.monotonicClock;
  if (!abortFlag) return clock;
  const offset = () => (Atomics.load(abortFlag, 0) ? ABORT_JUMP_NS : 0n);
  return {
    ...clock,
    now: () => clock.now() + offset(),
    subscribeInstant: (when: bigint) => clock.subscribeInstant(when - offset()),
  };
}

/** The import object for one instance under `grants`. */
export function wasiImports(grants: Grants, abortFlag?: Int32Array): Record<string, unknown> {
  const preopens: Record<string, string> = {};
  for (const dir of grants.mounts) {
    // A directory that does not exist yet is left out, as in host-harness:
    // the guest then reports it missing (a verifier says unhealthy).
    if (existsSync(dir) && statSync(dir).isDirectory()) preopens[dir] = dir;
  }
  const fs = shim.filesystem.createFilesystem({ preopens });
  const env: [string, string][] = grants.env.flatMap((k) => {
    const v = process.env[k];
    return v === undefined ? [] : [[k, v] as [string, string]];
  });
  const http = shim.http;
  const cli = shim.cli;
  return {
    "swamp:datastore/host-info": { identity, flushFiles: flushFiles(Object.keys(preopens)) },
    "wasi:cli/environment": {
      getEnvironment: () => env,
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    // The shim's exit ends the whole process; a guest must not end swamp.
    "wasi:cli/exit": {
      exit(status: { tag: string }) {
        throw new Error(`the component called exit (${status.tag})`);
      },
    },
    "wasi:cli/stderr": cli.stderr,
    "wasi:cli/stdin": cli.stdin,
    "wasi:cli/stdout": cli.stdout,
    "wasi:cli/terminal-input": cli.terminalInput,
    "wasi:cli/terminal-output": cli.terminalOutput,
    "wasi:cli/terminal-stderr": cli.terminalStderr,
    "wasi:cli/terminal-stdin": cli.terminalStdin,
    "wasi:cli/terminal-stdout": cli.terminalStdout,
    "wasi:clocks/monotonic-clock": abortableClock(abortFlag),
    "wasi:clocks/wall-clock": shim.clocks.wallClock,
    "wasi:filesystem/preopens": fs.preopens,
    "wasi:filesystem/types": fs.types,
    "wasi:http/types": http.types,
    "wasi:http/outgoing-handler": {
      // deno-lint-ignore no-explicit-any
      handle(request: any, options: any) {
        const s = request.scheme() as { tag: string; val?: string } | undefined;
        const scheme = !s ? "https" : s.tag === "other" ? String(s.val) : s.tag.toLowerCase();
        const authority = String(request.authority() ?? "");
        if (!httpAllowed(grants, scheme, authority)) {
          // The wasi:http error-code the guest sees for a refused request.
          throw { tag: "HTTP-request-denied" };
        }
        return http.outgoingHandler.handle(request, options);
      },
    },
    "wasi:io/error": shim.io.error,
    "wasi:io/poll": shim.io.poll,
    "wasi:io/streams": shim.io.streams,
    "wasi:random/random": shim.random.random,
    "wasi:random/insecure": shim.random.insecure,
    "wasi:random/insecure-seed": shim.random.insecureSeed,
  };
}
