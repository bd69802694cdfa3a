// The component's `error` variant as JavaScript errors: one class per case,
// each with its own `name`, so swamp (and its users) tell kinds apart by
// `name`/`instanceof` and never by parsing a message. A lock timeout is
// swamp's `LockTimeoutError` (code `lock_timeout`, `lockKey`, `holder`,
// `waitedMs`, the same message shape).

import { fromWit, type LockInfo, type WitLockInfo } from "./convert.ts";

/** One config problem: where (a zod-like path) and what. */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/** Base of every error a packaged component raises. */
export class DatastoreError extends Error {
  /** The WIT case, e.g. `not-found`. */
  readonly kind: string;
  constructor(kind: string, message: string, name: string) {
    super(message);
    this.kind = kind;
    this.name = name;
  }
}

export class LockTimeoutError extends DatastoreError {
  readonly code = "lock_timeout";
  readonly lockKey: string;
  readonly holder: LockInfo | null;
  readonly waitedMs: number;
  constructor(lockKey: string, holder: LockInfo | null, waitedMs: number) {
    const who = holder ? ` held by ${holder.holder} (pid ${holder.pid})` : "";
    super(
      "lock-timeout",
      `Lock "${lockKey}"${who} — timed out after ${waitedMs}ms`,
      "LockTimeoutError",
    );
    this.lockKey = lockKey;
    this.holder = holder;
    this.waitedMs = waitedMs;
  }
}

/** The config was rejected, by the JSON Schema or by the component. */
export class InvalidConfigError extends DatastoreError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], prefix = "Invalid config") {
    const list = issues
      .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
      .join("; ");
    super("invalid-config", `${prefix}: ${list}`, "InvalidConfigError");
    this.issues = issues;
  }
}

/** The names of the other cases (`lock-lost` → `LockLostError`, ...). */
const NAMES: Record<string, string> = {
  "lock-lost": "LockLostError",
  "invalid-argument": "InvalidArgumentError",
  "not-found": "NotFoundError",
  "conflict": "ConflictError",
  "corrupt-data": "CorruptDataError",
  "unavailable": "UnavailableError",
  "permission-denied": "PermissionDeniedError",
  "aborted": "AbortError",
  "unsupported": "UnsupportedError",
  "internal": "InternalError",
  // Not a WIT case: the host stopped a call at its deadline (native path).
  "timeout": "TimeoutError",
};

/** An error of one of the string-carrying cases. */
export function kindError(kind: string, message: string): DatastoreError {
  return new DatastoreError(kind, message, NAMES[kind] ?? "DatastoreError");
}

/** The `AbortError` an aborted call ends with (the reason as `cause`). */
export function abortError(what: string, reason?: unknown): DatastoreError {
  const e = kindError("aborted", `${what} was aborted`);
  if (reason !== undefined) (e as { cause?: unknown }).cause = reason;
  return e;
}

/** JSON Pointer ("/a/0/b") to a zod-like path (["a", 0, "b"]). */
export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

interface WitError {
  tag: string;
  val: unknown;
}

function isWitError(v: unknown): v is WitError {
  return typeof v === "object" && v !== null && typeof (v as WitError).tag === "string";
}

/**
 * What a call into the component threw, as a JavaScript error: the WIT
 * `error` variant becomes its class; anything else (a trap) is an
 * `InternalError` naming the call, with the original as `cause`.
 */
export function fromComponent(call: string, e: unknown): Error {
  const payload = typeof e === "object" && e !== null && "payload" in e
    ? (e as { payload: unknown }).payload
    : undefined;
  if (isWitError(payload)) {
    const { tag, val } = payload;
    if (tag === "lock-timeout") {
      const t = val as { lockKey: string; holder?: WitLockInfo; waitedMs: bigint };
      return new LockTimeoutError(
        t.lockKey,
        t.holder ? fromWit.lockInfo(t.holder) : null,
        Number(t.waitedMs),
      );
    }
    if (tag === "invalid-config") {
      const problems = val as { path: string; message: string }[];
      return new InvalidConfigError(
        problems.map((p) => ({
          path: pointerToPath(p.path),
          message: p.message,
          code: "custom",
        })),
        "Invalid config (rejected by the component)",
      );
    }
    return kindError(tag, `${call}: ${String(val)}`);
  }
  const err = kindError(
    "internal",
    `${call}: the component failed: ${e instanceof Error ? e.message : String(e)}`,
  );
  (err as { cause?: unknown }).cause = e;
  return err;
}

/** Call into the component, turning its errors into JavaScript ones. */
export function call<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fromComponent(what, e);
  }
}
