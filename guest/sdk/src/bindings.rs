//! The bindings generated from `wit/`. Authors never name anything in here:
//! the SDK's traits, types and [`crate::export_datastore!`] stand in front.

wit_bindgen::generate!({
    world: "datastore-provider",
    path: "../../wit",
    pub_export_macro: true,
    default_bindings_module: "swamp_datastore_sdk::bindings",
});
