// swamp's optional sync-service methods beyond push and pull, over the
// component's `shared-store` interface (wit/shared-store.wit, WIT 0.1.1):
// `controlPlaneStore` (with capability `controlPlane`), `exportCatalog`,
// `pullForeignCatalogs`, `fetchForeignContent` and
// `repairNamespaceContamination`. Each exists only when the component
// advertises its feature; swamp tests for the method before calling it. A
// component built against WIT 0.1.0 has no such interface and gets none.

/** The WIT `shared-features`, as jco gives it. */
export interface SharedFeatures {
  controlPlane: boolean;
  catalogs: boolean;
  contaminationRepair: boolean;
}

export const NO_SHARED_FEATURES: SharedFeatures = {
  controlPlane: false,
  catalogs: false,
  contaminationRepair: false,
};

/** swamp's ControlPlaneStore. */
export interface ControlPlaneStore {
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  putIfAbsent(key: string, data: Uint8Array): Promise<boolean>;
}

/** swamp's CatalogExportEntry: rows are whatever JSON objects were exported. */
export interface CatalogExportEntry {
  namespace: string;
  rows: unknown[];
}

/** swamp's NamespaceContaminationSummary. */
export interface NamespaceContaminationSummary {
  foreignNamespaces: { namespace: string; objectCount: number }[];
  totalForeignObjects: number;
  deleted: number;
}

/** swamp's RepairNamespaceContaminationOptions. */
export interface RepairNamespaceContaminationOptions {
  signal?: AbortSignal;
  namespace?: string;
  /** Detect only; the default, as in swamp's own datastores. */
  dryRun?: boolean;
}

export interface SharedStoreMethods {
  controlPlaneStore?(): ControlPlaneStore;
  exportCatalog?(namespace: string, rows: unknown[], signal?: AbortSignal): Promise<void>;
  pullForeignCatalogs?(namespaces: readonly string[], signal?: AbortSignal): Promise<CatalogExportEntry[]>;
  fetchForeignContent?(namespace: string, relPath: string, signal?: AbortSignal): Promise<Uint8Array | null>;
  repairNamespaceContamination?(
    options?: RepairNamespaceContaminationOptions,
  ): Promise<NamespaceContaminationSummary>;
}

/** A call of shared-store function `fn` in the sync worker. */
export type SharedRun = <T>(fn: string, args: unknown[], signal?: AbortSignal) => Promise<T>;

/**
 * The methods `features` allows. `boundNamespace` tells the namespace the
 * service's first pull or push named: a control-plane store made after it
 * keeps that namespace's records (`{ns}/_control/`), one made before it
 * the root's, as swamp's `serve` expects when it migrates root records.
 */
export function sharedStoreMethods(
  features: SharedFeatures,
  run: SharedRun,
  boundNamespace: () => string | undefined,
  bindNamespace: (ns: string | undefined) => void,
): SharedStoreMethods {
  const m: SharedStoreMethods = {};
  if (features.controlPlane) {
    m.controlPlaneStore = () => {
      const ns = boundNamespace();
      return {
        put: (key, data) => run<void>("controlPut", [ns, key, bytes(data)]).then(() => undefined),
        get: (key) => run<Uint8Array | undefined>("controlGet", [ns, key]).then((v) => v ?? null),
        delete: (key) => run<void>("controlDelete", [ns, key]).then(() => undefined),
        list: (prefix) => run<string[]>("controlList", [ns, prefix]),
        putIfAbsent: (key, data) => run<boolean>("controlPutIfAbsent", [ns, key, bytes(data)]),
      };
    };
  }
  if (features.catalogs) {
    m.exportCatalog = (namespace, rows, signal) =>
      run<boolean>("exportCatalog", [namespace, JSON.stringify(rows)], signal).then(() => undefined);
    m.pullForeignCatalogs = (namespaces, signal) =>
      run<{ namespace: string; rowsJson: string }[]>("pullForeignCatalogs", [[...namespaces]], signal)
        .then((entries) => entries.map((e) => ({ namespace: e.namespace, rows: JSON.parse(e.rowsJson) })));
    m.fetchForeignContent = (namespace, relPath, signal) =>
      run<Uint8Array | undefined>("fetchForeignContent", [namespace, relPath], signal).then((v) => v ?? null);
  }
  if (features.contaminationRepair) {
    m.repairNamespaceContamination = (options) => {
      bindNamespace(options?.namespace);
      return run<NamespaceContaminationSummary>(
        "repairNamespaceContamination",
        [options?.namespace || undefined, options?.dryRun ?? true],
        options?.signal,
      );
    };
  }
  return m;
}

/** swamp hands over Uint8Array; a Buffer or a view of a larger buffer is copied. */
function bytes(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError("control-plane data must be a Uint8Array");
  return new Uint8Array(data);
}
