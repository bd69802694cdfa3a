// The WIT `error` variant (wit/types.wit) as a JavaScript exception.
//
// componentize-js turns an exception thrown by an export that returns
// `result<_, error>` into the `err` case: it takes the exception's own
// `payload` property as the variant value. Any other exception (a bug: a
// TypeError, a RangeError) traps the instance, and the host reports the trap.

export class DatastoreError extends Error {
  /** @param {string} kind the WIT case, e.g. "lock-lost" @param {*} value its payload */
  constructor(kind, value) {
    super(typeof value === 'string' ? `${kind}: ${value}` : kind);
    this.payload = { tag: kind, val: value };
  }
}

export const invalidArgument = (message) => new DatastoreError('invalid-argument', message);
export const notFound = (message) => new DatastoreError('not-found', message);
export const conflict = (message) => new DatastoreError('conflict', message);
export const corruptData = (message) => new DatastoreError('corrupt-data', message);
export const permissionDenied = (message) => new DatastoreError('permission-denied', message);
export const lockLost = (message) => new DatastoreError('lock-lost', message);
export const unsupported = (message) => new DatastoreError('unsupported', message);
export const internal = (message) => new DatastoreError('internal', message);

/** @param {{path: string, message: string}[]} problems */
export const invalidConfig = (problems) => new DatastoreError('invalid-config', problems);

/** @param {string} lockKey @param {object | undefined} holder @param {number} waitedMs */
export const lockTimeout = (lockKey, holder, waitedMs) =>
  new DatastoreError('lock-timeout', { lockKey, holder, waitedMs: BigInt(Math.floor(waitedMs)) });
