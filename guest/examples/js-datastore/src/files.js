// File access through wasi:filesystem, directly.
//
// A component sees no host path: it sees the directories the host mounted
// (its preopens, each with the absolute path it is mounted at) and opens
// files relative to one of them. swamp-host mounts every directory a config
// field marked `"x-swamp-mount": true` names, at the same absolute path, so
// an absolute path from the config is found by its longest mounted prefix.
//
// WASI calls fail by throwing an error whose `payload` is an error code
// ("no-entry", "exist", "access", ...); `translate` turns the codes a caller
// does not expect into the datastore's own error kinds, naming the file.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { drop, uuid } from './platform.js';
import { DatastoreError, notFound, permissionDenied } from './errors.js';

/** The mounted directories of this instance: [descriptor, absolute path]. */
let mounts;
function mounted() {
  mounts ??= getDirectories();
  return mounts;
}

/** The WASI error code of an exception, or undefined for any other exception. */
export function codeOf(e) {
  return typeof e?.payload === 'string' ? e.payload : undefined;
}

/** The datastore error for a failed WASI call `what` on `path` (other exceptions as they are). */
function translate(what, path, e) {
  const code = codeOf(e);
  if (code === undefined) return e;
  const message = `${what} ${path}: ${code}`;
  if (code === 'no-entry') return notFound(message);
  if (['access', 'not-permitted', 'read-only', 'loop'].includes(code)) return permissionDenied(message);
  return new DatastoreError('unavailable', message);
}

/** Run one WASI call on `path`, translating its failure. */
function call(what, path, fn) {
  try {
    return fn();
  } catch (e) {
    throw translate(what, path, e);
  }
}

/**
 * A directory given by its absolute path, inside one of the mounts. Paths
 * passed to its methods are relative to it ("a/b/.lock").
 */
export class Directory {
  /** @param {string} path absolute */
  constructor(path) {
    this.path = path.replace(/\/+$/, '') || '/';
  }

  /** The mount holding this directory, and this directory's path inside it. */
  #resolve() {
    let best;
    for (const [descriptor, at] of mounted()) {
      const root = at.replace(/\/+$/, '');
      if (this.path === at || this.path === root || this.path.startsWith(`${root}/`)) {
        if (!best || root.length > best.root.length) best = { descriptor, root };
      }
    }
    if (!best) {
      const list = mounted().map(([, at]) => at).join(', ') || 'none';
      throw notFound(
        `${this.path} is in no mounted directory (mounted: ${list}); the host mounts the existing directories that config fields marked "x-swamp-mount": true name`,
      );
    }
    return { descriptor: best.descriptor, base: this.path.slice(best.root.length).replace(/^\/+/, '') };
  }

  /** The mount's descriptor and `rel` as a path inside the mount. */
  #at(rel) {
    const { descriptor, base } = this.#resolve();
    const inside = [base, rel].filter((p) => p && p !== '.').join('/');
    return { descriptor, inside: inside || '.' };
  }

  #describe(rel) {
    return rel === '.' ? this.path : `${this.path}/${rel}`;
  }

  /** Whether this directory exists and is mounted. */
  exists() {
    try {
      return this.stat('.').type === 'directory';
    } catch (e) {
      if (e instanceof DatastoreError && e.payload.tag === 'not-found') return false;
      throw e;
    }
  }

  /** The descriptor-stat of `rel` (symlinks followed). */
  stat(rel) {
    const { descriptor, inside } = this.#at(rel);
    return call('stat', this.#describe(rel), () => descriptor.statAt({ symlinkFollow: true }, inside));
  }

  /** The bytes of `rel`, or null when there is no such file. */
  read(rel) {
    const { descriptor, inside } = this.#at(rel);
    let file;
    try {
      file = descriptor.openAt({}, inside, {}, { read: true });
    } catch (e) {
      if (codeOf(e) === 'no-entry') return null;
      throw translate('open', this.#describe(rel), e);
    }
    try {
      const chunks = [];
      let offset = 0n;
      for (;;) {
        const [chunk, end] = call('read', this.#describe(rel), () => file.read(1n << 20n, offset));
        chunks.push(chunk);
        offset += BigInt(chunk.length);
        if (end || chunk.length === 0) break;
      }
      return concat(chunks);
    } finally {
      drop(file);
    }
  }

  /**
   * Create `rel` only if nothing is there (open-at with create + exclusive),
   * then write `bytes` into it. True when created, false when it existed.
   * A reader may see the file empty or half-written for a moment.
   */
  createExclusive(rel, bytes) {
    const { descriptor, inside } = this.#at(rel);
    let file;
    try {
      file = descriptor.openAt({}, inside, { create: true, exclusive: true }, { write: true });
    } catch (e) {
      if (codeOf(e) === 'exist') return false;
      throw translate('create', this.#describe(rel), e);
    }
    try {
      let offset = 0;
      while (offset < bytes.length) {
        offset += Number(call('write', this.#describe(rel), () => file.write(bytes.subarray(offset), BigInt(offset))));
      }
      call('sync', this.#describe(rel), () => file.sync());
    } finally {
      drop(file);
    }
    return true;
  }

  /** Replace `rel` with `bytes` atomically: a temporary file renamed over it. */
  writeAtomic(rel, bytes) {
    const tmp = temporaryName(rel);
    if (!this.createExclusive(tmp, bytes)) throw new DatastoreError('internal', `temporary file ${tmp} exists`);
    try {
      this.rename(tmp, rel);
    } catch (e) {
      this.removeIfPresent(tmp);
      throw e;
    }
  }

  rename(from, to) {
    const a = this.#at(from);
    const b = this.#at(to);
    call('rename', this.#describe(from), () => a.descriptor.renameAt(a.inside, b.descriptor, b.inside));
  }

  /** Delete `rel`; true when it was there. */
  removeIfPresent(rel) {
    const { descriptor, inside } = this.#at(rel);
    try {
      descriptor.unlinkFileAt(inside);
      return true;
    } catch (e) {
      if (codeOf(e) === 'no-entry') return false;
      throw translate('remove', this.#describe(rel), e);
    }
  }

  /**
   * Delete `rel` only if it still holds exactly `expected`; true when deleted.
   * The file is first renamed to a private name (only one renamer can win),
   * then compared, and put back if it turned out to be someone else's: a
   * release or a stale takeover never deletes a successor's fresh lock.
   */
  removeIfSame(rel, expected) {
    const tomb = temporaryName(rel);
    try {
      this.rename(rel, tomb);
    } catch (e) {
      if (e instanceof DatastoreError && e.payload.tag === 'not-found') return false;
      throw e;
    }
    const got = this.read(tomb);
    if (got !== null && sameBytes(got, expected)) {
      this.removeIfPresent(tomb);
      return true;
    }
    // Not what the caller judged: put it back unless its place was taken
    // meanwhile (then its owner's next heartbeat reports the loss).
    if (got !== null) this.createExclusive(rel, got);
    this.removeIfPresent(tomb);
    return false;
  }

  /** Create `rel` and its missing parents (other writers may do the same at once). */
  makeDirectories(rel) {
    let path = '';
    for (const segment of rel.split('/')) {
      path = path ? `${path}/${segment}` : segment;
      const { descriptor, inside } = this.#at(path);
      try {
        descriptor.createDirectoryAt(inside);
      } catch (e) {
        if (codeOf(e) !== 'exist') throw translate('create directory', this.#describe(path), e);
      }
    }
  }
}

/** `.{name}.{uuid}.swamp-tmp` beside `rel`, as fs-datastore names its temporary files. */
function temporaryName(rel) {
  const slash = rel.lastIndexOf('/');
  return `${rel.slice(0, slash + 1)}.${rel.slice(slash + 1)}.${uuid()}.swamp-tmp`;
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
