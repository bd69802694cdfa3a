//! The `shared-store` export: each call borrows a sync-service resource
//! and reaches the author's [`crate::SharedStore`] through
//! [`crate::SyncService::shared_store`]; a service without one answers
//! `unsupported` and advertises no feature.

use super::{SyncResource, WitResult, with_mut};
use crate::bindings::exports::swamp::datastore::{shared_store as wss, sync as ws};
use crate::error::Error;
use crate::traits::{Datastore, SharedStore};
use swamp_datastore_types::{CatalogExport, ContaminationSummary, SharedFeatures};

use super::Export;

/// Run `f` on the shared store of `service`.
fn on_store<R>(
    service: ws::SyncServiceBorrow<'_>,
    call: &str,
    f: impl FnOnce(&mut dyn SharedStore) -> crate::Result<R>,
) -> WitResult<R> {
    let resource: &SyncResource = service.get();
    with_mut(&resource.0, |s| match s.shared_store() {
        Some(store) => f(store),
        None => Err(Error::unsupported(call)),
    })
}

impl<D: Datastore> wss::Guest for Export<D> {
    fn features(service: ws::SyncServiceBorrow<'_>) -> wss::SharedFeatures {
        let resource: &SyncResource = service.get();
        with_mut(&resource.0, |s| {
            Ok(s.shared_store().map(|x| x.features()).unwrap_or_default())
        })
        .unwrap_or_default()
        .into()
    }
    fn control_put(
        service: ws::SyncServiceBorrow<'_>,
        namespace: Option<String>,
        key: String,
        data: Vec<u8>,
    ) -> WitResult<()> {
        on_store(service, "control-put", |s| {
            s.control_put(namespace.as_deref(), &key, &data)
        })
    }
    fn control_get(
        service: ws::SyncServiceBorrow<'_>,
        namespace: Option<String>,
        key: String,
    ) -> WitResult<Option<Vec<u8>>> {
        on_store(service, "control-get", |s| {
            s.control_get(namespace.as_deref(), &key)
        })
    }
    fn control_delete(
        service: ws::SyncServiceBorrow<'_>,
        namespace: Option<String>,
        key: String,
    ) -> WitResult<()> {
        on_store(service, "control-delete", |s| {
            s.control_delete(namespace.as_deref(), &key)
        })
    }
    fn control_list(
        service: ws::SyncServiceBorrow<'_>,
        namespace: Option<String>,
        prefix: String,
    ) -> WitResult<Vec<String>> {
        on_store(service, "control-list", |s| {
            s.control_list(namespace.as_deref(), &prefix)
        })
    }
    fn control_put_if_absent(
        service: ws::SyncServiceBorrow<'_>,
        namespace: Option<String>,
        key: String,
        data: Vec<u8>,
    ) -> WitResult<bool> {
        on_store(service, "control-put-if-absent", |s| {
            s.control_put_if_absent(namespace.as_deref(), &key, &data)
        })
    }
    fn export_catalog(
        service: ws::SyncServiceBorrow<'_>,
        namespace: String,
        rows_json: String,
    ) -> WitResult<bool> {
        on_store(service, "export-catalog", |s| {
            s.export_catalog(&namespace, &rows_json)
        })
    }
    fn pull_foreign_catalogs(
        service: ws::SyncServiceBorrow<'_>,
        namespaces: Vec<String>,
    ) -> WitResult<Vec<wss::CatalogExport>> {
        on_store(service, "pull-foreign-catalogs", |s| {
            s.pull_foreign_catalogs(&namespaces)
        })
        .map(|v| v.into_iter().map(Into::into).collect())
    }
    fn fetch_foreign_content(
        service: ws::SyncServiceBorrow<'_>,
        namespace: String,
        rel_path: String,
    ) -> WitResult<Option<Vec<u8>>> {
        on_store(service, "fetch-foreign-content", |s| {
            s.fetch_foreign_content(&namespace, &rel_path)
        })
    }
    fn repair_namespace_contamination(
        service: ws::SyncServiceBorrow<'_>,
        namespace: Option<String>,
        dry_run: bool,
    ) -> WitResult<wss::ContaminationSummary> {
        on_store(service, "repair-namespace-contamination", |s| {
            s.repair_namespace_contamination(namespace.as_deref(), dry_run)
        })
        .map(Into::into)
    }
}

impl From<SharedFeatures> for wss::SharedFeatures {
    fn from(f: SharedFeatures) -> Self {
        wss::SharedFeatures {
            control_plane: f.control_plane,
            catalogs: f.catalogs,
            contamination_repair: f.contamination_repair,
        }
    }
}

impl From<CatalogExport> for wss::CatalogExport {
    fn from(c: CatalogExport) -> Self {
        wss::CatalogExport {
            namespace: c.namespace,
            rows_json: c.rows_json,
        }
    }
}

impl From<ContaminationSummary> for wss::ContaminationSummary {
    fn from(c: ContaminationSummary) -> Self {
        wss::ContaminationSummary {
            foreign_namespaces: c
                .foreign_namespaces
                .into_iter()
                .map(|f| wss::ForeignNamespace {
                    namespace: f.namespace,
                    object_count: f.object_count,
                })
                .collect(),
            total_foreign_objects: c.total_foreign_objects,
            deleted: c.deleted,
        }
    }
}
