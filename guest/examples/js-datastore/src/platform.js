// Clocks and randomness, straight from the WASI imports.
//
// A pause (acquire waiting for a held lock) blocks on a monotonic-clock
// pollable, which is what a Rust guest's `std::thread::sleep` compiles to,
// so every export stays a plain synchronous function. (componentize-js also
// accepts async exports and runs the event loop until their promise
// settles; this datastore has nothing to await.)

import { now, subscribeDuration } from 'wasi:clocks/monotonic-clock@0.2.12';
import { getRandomBytes } from 'wasi:random/random@0.2.12';

const NS_PER_MS = 1_000_000n;

/** Component resources are freed explicitly (the garbage collector would, some time later). */
const dispose = Symbol.dispose ?? Symbol.for('dispose');
export function drop(resource) {
  resource[dispose]();
}

/** A point on the monotonic clock, for measuring waits. */
export function instant() {
  return now();
}

/** Milliseconds (with a fraction) since `start`, an `instant()`. */
export function elapsedMs(start) {
  return Number(now() - start) / 1e6;
}

/** Block this instance for `ms` milliseconds. */
export function sleep(ms) {
  const pollable = subscribeDuration(BigInt(Math.max(0, Math.round(ms))) * NS_PER_MS);
  try {
    pollable.block();
  } finally {
    drop(pollable);
  }
}

/** A random UUID v4 (lock nonces, probe and temporary file names). */
export function uuid() {
  const b = getRandomBytes(16n);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random number in [0, bound). */
export function randomBelow(bound) {
  return bound <= 0 ? 0 : Number(getRandomBytes(4n).reduce((n, x) => n * 256 + x, 0) % bound);
}
