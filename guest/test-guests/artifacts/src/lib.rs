//! Test-only: the components the tests load, built by this crate's build
//! script (build.rs says how and why there).
//!
//! - [`FS_DATASTORE`], [`S3_DATASTORE`]: the two datastores of this
//!   workspace (`guest/fs`, `guest/s3`);
//! - [`HOSTILE`]: the guest that tries to escape its sandbox
//!   (`guest/test-guests/src/bin/hostile.rs`);
//! - `BROKEN_<NAME>`: one per `guest/test-guests/src/bin/broken_<name>.rs`,
//!   fs-datastore wrong in exactly one way.
//!
//! Each is the absolute path of a `.wasm` component, as a `&str`.
//! [`foreach_broken!`] calls a macro once per broken guest with its name
//! (`two_holders`) and path, so a test suite that expands one test per
//! broken guest, and names the expectation of each, does not compile when a
//! guest has no test (`conformance/tests/broken_guests.rs`).

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
