// @swamp-wasm/js-datastore: a swamp datastore written in JavaScript and
// compiled to a WebAssembly component with componentize-js, against the
// same WIT as the Rust guests (wit/, world `datastore-provider`).
//
// Config `{"path": "/abs/dir"}`: locks are lock files in that directory, the
// verifier probes it. There is no sync service (the data is local), so
// provider features say `sync: false` and the calls that need one are
// `unsupported`.
//
// How the WIT maps to this module (componentize-js): each exported interface
// is an exported object named after it in camelCase (`datastore`,
// `sharedStore`); each resource is a class on it (`DistributedLock`);
// functions and fields are camelCase; `result` errors are thrown (see
// errors.js); `option` is a value or undefined; u64 is a BigInt.

import { parseConfig, SCHEMA } from './config.js';
import { invalidConfig, unsupported } from './errors.js';
import { FileLock } from './lock.js';
import { Verifier } from './verifier.js';

const DATASTORE_TYPE = '@swamp-wasm/js-datastore';

class DatastoreProvider {
  #config;

  constructor(config) {
    this.#config = config;
  }

  features() {
    return { sync: false, cachePath: false, namespaces: false };
  }

  createLock(datastorePath, options) {
    return new FileLock(datastorePath, options);
  }

  createVerifier() {
    return new Verifier(this.#config.path, DATASTORE_TYPE);
  }

  resolveDatastorePath(_repoDir) {
    return this.#config.path;
  }

  /** The data is local: no sync service (none, not an error). */
  createSyncService(_repoDir, _cachePath) {
    return undefined;
  }

  /** None: the host's default cache location. */
  resolveCachePath(_repoDir) {
    return undefined;
  }

  registerNamespace(_datastorePath, _namespace, _repoId) {
    throw unsupported('namespaces are not implemented by this example (features.namespaces is false)');
  }

  listNamespaces(_datastorePath) {
    throw unsupported('namespaces are not implemented by this example (features.namespaces is false)');
  }
}

/** Never made: create-sync-service returns none. The WIT still needs the class. */
class SyncService {}

export const datastore = {
  datastoreType: () => DATASTORE_TYPE,
  name: () => 'JavaScript example',
  description: () =>
    'Locks and health checks on a local directory, written in JavaScript (an example for authors of other languages)',
  configSchema: () => JSON.stringify(SCHEMA, null, 2),

  /** Validate again (the host checked the schema) and build a provider; no I/O. */
  createProvider(configJson) {
    let config;
    try {
      config = JSON.parse(configJson);
    } catch (e) {
      throw invalidConfig([{ path: '', message: `the config is not JSON: ${e.message}` }]);
    }
    return new DatastoreProvider(parseConfig(config));
  },
};

export const provider = { DatastoreProvider };
export const lock = { DistributedLock: FileLock };
export const verifier = { DatastoreVerifier: Verifier };
export const sync = { SyncService };

// shared-store works on a sync service, which this datastore never makes:
// no feature, and every call is unsupported.
const noSyncService = () => {
  throw unsupported('this datastore has no sync service');
};
export const sharedStore = {
  features: (_service) => ({ controlPlane: false, catalogs: false, contaminationRepair: false }),
  controlPut: noSyncService,
  controlGet: noSyncService,
  controlDelete: noSyncService,
  controlList: noSyncService,
  controlPutIfAbsent: noSyncService,
  exportCatalog: noSyncService,
  pullForeignCatalogs: noSyncService,
  fetchForeignContent: noSyncService,
  repairNamespaceContamination: noSyncService,
};
