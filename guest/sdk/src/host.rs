//! What the guest may ask of its host beyond WASI.

use crate::types::HolderIdentity;

/// The identity to write into lock files (`{user}@{hostname}`, pid),
/// constant for the life of the host process. Only callable inside a
/// component: natively the import is a stub, so keep logic that needs an
/// identity testable by passing it in.
pub fn identity() -> HolderIdentity {
    let h = crate::bindings::swamp::datastore::host_info::identity();
    HolderIdentity {
        user: h.user,
        hostname: h.hostname,
        pid: h.pid,
    }
}
