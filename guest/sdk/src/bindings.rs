//! The bindings generated from `wit/`. Authors never name anything in here:
//! the SDK's traits, types and [`crate::export_datastore!`] stand in front.
//!
//! The WIT is read from `guest/sdk/wit`, a symlink to the repository's
//! `wit/`, so that the crate's package carries it (`cargo package` follows
//! the link and stores the files) and a crate depending on the SDK from a
//! registry or a git checkout builds. The alternatives were worse: a copy
//! under the crate is a second source every WIT change must reach (a test
//! would only notice the drift), a build script runs when the crate is
//! built, not when it is packaged, and `include` cannot reach above the
//! crate directory. A symlink needs a checkout that keeps symlinks, which
//! this repository already assumes (its Makefile and scripts/ need a Unix
//! shell). `scripts/package-check.sh` shows the packaged WIT equals `wit/`.

wit_bindgen::generate!({
    world: "datastore-provider",
    path: "wit",
    pub_export_macro: true,
    default_bindings_module: "swamp_datastore_sdk::bindings",
});
