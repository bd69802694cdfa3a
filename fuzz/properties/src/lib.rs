//! The properties the fuzz targets check, one plain function a target.
//!
//! Each function takes the raw fuzz input, returns normally when every
//! property holds and panics (an `assert!`) when one does not, so libFuzzer
//! reports the input as a crash. They live in this small workspace crate,
//! not in `fuzz/` (which cargo-fuzz builds on nightly, outside the
//! workspace), so that `tests/replay.rs` can run the committed seed corpora
//! and every crash found so far through exactly the same checks on the
//! stable toolchain, in `make test`.

pub mod config;
pub mod index;
pub mod lock_info;
pub mod rel_path;
pub mod s3_xml;

/// A target's properties over one input.
pub type Check = fn(&[u8]);

/// Every target, by the name of its fuzz target and corpus folder.
pub const TARGETS: &[(&str, Check)] = &[
    ("index", index::index),
    ("rel_path", rel_path::rel_path),
    ("s3_xml_listing", s3_xml::listing),
    ("s3_xml_error", s3_xml::error_doc),
    ("lock_info", lock_info::lock_info),
    ("config", config::config),
];

/// Assert that `path` is a clean relative path: accepted by the SDK's rules
/// and already in normal form.
pub fn assert_clean_rel(path: &str, what: &str) {
    match swamp_datastore_sdk::RelPath::parse(path, what) {
        Ok(p) => assert_eq!(p.as_str(), path, "{what} {path:?} is not in normal form"),
        Err(e) => panic!("{what} {path:?} is not a safe relative path: {e:?}"),
    }
}
