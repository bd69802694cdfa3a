//! The `fs-datastore` component: [`fs_datastore_core::FsDatastore`] exported
//! as the `datastore-provider` world. Everything else lives in `core/`.

swamp_datastore_sdk::export_datastore!(fs_datastore_core::FsDatastore);
