// The health probe (wit/verifier.wit), as fs-datastore's
// (guest/fs/core/src/verifier.rs): the directory must exist, and a probe
// file must be created, read back and deleted; the round trip is timed on
// the monotonic clock. An unhealthy datastore is a result, not an error.

import { Directory } from './files.js';
import { elapsedMs, instant, uuid } from './platform.js';

export class Verifier {
  #dir;
  #datastoreType;

  constructor(path, datastoreType) {
    this.#dir = new Directory(path);
    this.#datastoreType = datastoreType;
  }

  verify() {
    const start = instant();
    const problem = this.#probe();
    const latencyMs = elapsedMs(start);
    const p = this.#dir.path;
    return {
      healthy: problem === undefined,
      message: problem ?? `Filesystem datastore at ${p} is healthy`,
      latencyMs,
      datastoreType: this.#datastoreType,
      details: [['path', p]],
    };
  }

  /** Why the datastore is unhealthy, or undefined when it is healthy. */
  #probe() {
    const p = this.#dir.path;
    try {
      // The host mounts only directories that exist: a missing path and a
      // path that is a file both look absent from inside the sandbox.
      if (!this.#dir.exists()) {
        return `Datastore directory does not exist (or is not a directory): ${p}. Run 'swamp datastore setup filesystem --path ${p}' to create it.`;
      }
    } catch (e) {
      return `Cannot access datastore: ${e.message}`;
    }
    const probe = `.swamp-health-check-${uuid()}`;
    const token = new TextEncoder().encode(uuid());
    try {
      this.#dir.createExclusive(probe, token);
    } catch (e) {
      try {
        this.#dir.removeIfPresent(probe);
      } catch {
        // nothing was created
      }
      return `Directory exists but is not writable: ${p}. ${e.message}`;
    }
    try {
      const back = this.#dir.read(probe);
      this.#dir.removeIfPresent(probe);
      if (back === null || back.length !== token.length || !back.every((x, i) => x === token[i])) {
        return `Cannot access datastore: the probe file in ${p} read back different content`;
      }
    } catch (e) {
      return `Cannot access datastore: the probe file in ${p}: ${e.message}`;
    }
    return undefined;
  }
}
