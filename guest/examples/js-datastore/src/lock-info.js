// swamp's LockInfo JSON, byte for byte as swamp writes it (pretty JSON,
// two-space indent, keys in this order, no trailing newline), so that this
// datastore, fs-datastore and swamp's own filesystem datastore exclude each
// other on one directory:
//
//   {
//     "holder": "ann@box",
//     "hostname": "box",
//     "pid": 4242,
//     "acquiredAt": "2026-01-02T03:04:05.678Z",
//     "ttlMs": 30000,
//     "nonce": "0b6d3f5e-1c1f-4a5e-9d47-2b8f8f7d2a10"
//   }
//
// In the WIT record `lock-info`, `pid` is a u32 (a JavaScript number) and
// `ttl-ms` a u64 (a BigInt); `nonce` is absent only in legacy locks.

import { corruptData } from './errors.js';

const U32_MAX = 0xffff_ffffn;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** A new lock body for `who` (host-info's holder-identity), acquired now. */
export function newLockInfo(who, ttlMs, nonce) {
  return {
    holder: `${who.user}@${who.hostname}`,
    hostname: who.hostname,
    pid: who.pid,
    acquiredAt: new Date().toISOString(),
    ttlMs,
    nonce,
  };
}

/** The exact bytes swamp writes for `info`. */
export function lockInfoBytes(info) {
  const body = {
    holder: info.holder,
    hostname: info.hostname,
    pid: info.pid,
    acquiredAt: info.acquiredAt,
    // A BigInt has no JSON form; write its digits as they are.
    ttlMs: JSON.rawJSON(info.ttlMs.toString()),
  };
  if (info.nonce !== undefined) body.nonce = info.nonce;
  return new TextEncoder().encode(JSON.stringify(body, null, 2));
}

/**
 * Parse a stored lock body read from `source` (named in the error). Anything
 * that is not a complete, well-formed lock is `corrupt-data`: not UTF-8, not
 * JSON, a missing field, a field of the wrong type, a pid or TTL that is not
 * a whole number in range (`1500.0` included), an unreadable `acquiredAt`.
 */
export function parseLockInfo(bytes, source) {
  const bad = (why) => corruptData(`lock ${source} ${why}; it was left untouched`);
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('is not UTF-8');
  }
  let raw;
  try {
    // Numbers are kept as their source text (JSON.parse's third reviver
    // argument): `1500.0` and `1500` are different to a u64 field, and
    // 18446744073709551615 is not a JavaScript number.
    raw = JSON.parse(text, (_key, value, context) =>
      typeof value === 'number' ? { number: context.source } : value,
    );
  } catch (e) {
    throw bad(`is not valid lock JSON (${e.message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('is not a JSON object');
  const string = (field) => {
    if (typeof raw[field] !== 'string') throw bad(`has no string field ${field}`);
    return raw[field];
  };
  const whole = (field, max) => {
    const digits = raw[field]?.number;
    if (typeof digits !== 'string' || !/^(0|[1-9][0-9]*)$/.test(digits) || BigInt(digits) > max) {
      throw bad(`has no whole-number field ${field} in range`);
    }
    return BigInt(digits);
  };
  const info = {
    holder: string('holder'),
    hostname: string('hostname'),
    pid: Number(whole('pid', U32_MAX)),
    acquiredAt: string('acquiredAt'),
    ttlMs: whole('ttlMs', U64_MAX),
    nonce: raw.nonce ?? undefined,
  };
  if (info.nonce !== undefined && typeof info.nonce !== 'string') throw bad('has a nonce that is not a string');
  if (parseTime(info.acquiredAt) === undefined) {
    throw bad(`has an unreadable acquiredAt ${JSON.stringify(info.acquiredAt)}`);
  }
  return info;
}

/** Milliseconds since `info.acquiredAt` by our clock (0 when the holder's clock is ahead). */
export function ageMs(info) {
  return Math.max(0, Date.now() - parseTime(info.acquiredAt));
}

/** Stale: the lease the holder stored ran out (`now - acquiredAt > ttlMs`). */
export function isStale(info) {
  return BigInt(ageMs(info)) > info.ttlMs;
}

/**
 * An RFC 3339 time (`2026-01-02T03:04:05.678Z`, any precision, `Z` or an
 * offset) as epoch milliseconds; undefined for anything else. Stricter than
 * Date.parse, which also takes "2026" or "March 7".
 */
export function parseTime(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone, sign, oh, om] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Math.floor(Number(`0${frac || '.0'}`) * 1000));
  const check = new Date(ms);
  if (check.getUTCFullYear() !== +y || check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 60) {
    return undefined;
  }
  const offset = zone.toUpperCase() === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (+oh * 60 + +om) * 60_000;
  return ms - offset;
}
