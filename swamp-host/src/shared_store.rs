//! The shared-store calls of a sync service (`wit/shared-store.wit`):
//! control records, catalog exports and contamination repair. A component
//! built before WIT 0.1.1 has no such export; it advertises no feature and
//! every call answers `unsupported`, as a component that has the export
//! but not the feature does.

use crate::bindings::wit;
use crate::error::HostResult;
use crate::sync::{DEFAULT_SYNC_TIMEOUT, SyncService};
use crate::types::{CatalogExport, ContaminationSummary, SharedFeatures};

/// The answer of a call into a component without the interface.
fn absent<T>(call: &str) -> wasmtime::Result<Result<T, wit::Error>> {
    Ok(Err(wit::Error::Unsupported(format!(
        "{call} is not supported: the component was built against WIT 0.1.0, which has no shared-store interface"
    ))))
}

/// Expands to one guest call of the shared-store interface on this
/// service's resource. Catalog and repair calls walk a whole namespace and
/// get swamp's sync timeout; control records get the default call budget.
macro_rules! shared_call {
    ($self:ident, $name:literal, $budget:expr, |$s:ident, $api:ident, $r:ident| $call:expr) => {{
        let $r = $self.guest.get();
        $self
            .guest
            .instance()
            .call(concat!("shared-store.", $name), $budget, move |$s, b| {
                Box::pin(async move {
                    match b.swamp_datastore_shared_store() {
                        Some($api) => $call.await,
                        None => absent(concat!("shared-store.", $name)),
                    }
                })
            })
            .await
    }};
}

impl SyncService {
    /// Which shared-store calls work; all off for a 0.1.0 component.
    pub async fn shared_features(&self) -> HostResult<SharedFeatures> {
        let r = self.guest.get();
        self.guest
            .instance()
            .call_infallible("shared-store.features", move |s, b| {
                Box::pin(async move {
                    match b.swamp_datastore_shared_store() {
                        Some(api) => api.call_features(s, r).await.map(Into::into),
                        None => Ok(SharedFeatures::default()),
                    }
                })
            })
            .await
    }

    /// Create or replace control record `key` of `namespace` (none: root).
    pub async fn control_put(
        &self,
        namespace: Option<&str>,
        key: &str,
        data: &[u8],
    ) -> HostResult<()> {
        let (ns, key, data) = (
            namespace.map(str::to_string),
            key.to_string(),
            data.to_vec(),
        );
        shared_call!(self, "control-put", None, |s, api, r| api.call_control_put(
            s,
            r,
            ns.as_deref(),
            &key,
            &data
        ))
    }

    /// The record's bytes, none when absent.
    pub async fn control_get(
        &self,
        namespace: Option<&str>,
        key: &str,
    ) -> HostResult<Option<Vec<u8>>> {
        let (ns, key) = (namespace.map(str::to_string), key.to_string());
        shared_call!(self, "control-get", None, |s, api, r| api.call_control_get(
            s,
            r,
            ns.as_deref(),
            &key
        ))
    }

    /// Delete the record (absent is fine).
    pub async fn control_delete(&self, namespace: Option<&str>, key: &str) -> HostResult<()> {
        let (ns, key) = (namespace.map(str::to_string), key.to_string());
        shared_call!(self, "control-delete", None, |s, api, r| api
            .call_control_delete(s, r, ns.as_deref(), &key))
    }

    /// Sorted keys starting with `prefix`.
    pub async fn control_list(
        &self,
        namespace: Option<&str>,
        prefix: &str,
    ) -> HostResult<Vec<String>> {
        let (ns, prefix) = (namespace.map(str::to_string), prefix.to_string());
        shared_call!(self, "control-list", None, |s, api, r| api
            .call_control_list(s, r, ns.as_deref(), &prefix))
    }

    /// Create the record only if absent; true when this call created it.
    pub async fn control_put_if_absent(
        &self,
        namespace: Option<&str>,
        key: &str,
        data: &[u8],
    ) -> HostResult<bool> {
        let (ns, key, data) = (
            namespace.map(str::to_string),
            key.to_string(),
            data.to_vec(),
        );
        shared_call!(self, "control-put-if-absent", None, |s, api, r| api
            .call_control_put_if_absent(s, r, ns.as_deref(), &key, &data))
    }

    /// Store `rows_json` as the namespace's catalog export; true when it
    /// wrote (false: those bytes were stored already).
    pub async fn export_catalog(&self, namespace: &str, rows_json: &str) -> HostResult<bool> {
        let (ns, rows) = (namespace.to_string(), rows_json.to_string());
        shared_call!(
            self,
            "export-catalog",
            Some(DEFAULT_SYNC_TIMEOUT),
            |s, api, r| api.call_export_catalog(s, r, &ns, &rows)
        )
    }

    /// The well-formed catalog exports of `namespaces`.
    pub async fn pull_foreign_catalogs(
        &self,
        namespaces: &[String],
    ) -> HostResult<Vec<CatalogExport>> {
        let names = namespaces.to_vec();
        shared_call!(
            self,
            "pull-foreign-catalogs",
            Some(DEFAULT_SYNC_TIMEOUT),
            |s, api, r| api.call_pull_foreign_catalogs(s, r, &names)
        )
        .map(|v| v.into_iter().map(Into::into).collect())
    }

    /// `{namespace}/{rel_path}` from the remote store, none when absent.
    pub async fn fetch_foreign_content(
        &self,
        namespace: &str,
        rel_path: &str,
    ) -> HostResult<Option<Vec<u8>>> {
        let (ns, rel) = (namespace.to_string(), rel_path.to_string());
        shared_call!(
            self,
            "fetch-foreign-content",
            Some(DEFAULT_SYNC_TIMEOUT),
            |s, api, r| api.call_fetch_foreign_content(s, r, &ns, &rel)
        )
    }

    /// Find other namespaces' objects inside `namespace`; unless `dry_run`,
    /// delete them and rebuild its index.
    pub async fn repair_namespace_contamination(
        &self,
        namespace: Option<&str>,
        dry_run: bool,
    ) -> HostResult<ContaminationSummary> {
        let ns = namespace.map(str::to_string);
        shared_call!(
            self,
            "repair-namespace-contamination",
            Some(DEFAULT_SYNC_TIMEOUT),
            |s, api, r| api.call_repair_namespace_contamination(s, r, ns.as_deref(), dry_run)
        )
        .map(Into::into)
    }
}
