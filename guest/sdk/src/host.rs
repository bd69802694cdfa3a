//! What the guest may ask of its host beyond WASI.

use std::io;
use std::path::Path;

use crate::write_file::WriteFile;
use swamp_datastore_types::HolderIdentity;

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

/// Flush every file in `paths` to stable storage (as `fsync`), one result
/// per path, in order. Inside a component the host flushes absolute paths
/// all at once (`host-info.flush-files`, wit/host-info.wit): a guest's own
/// WASI `sync` calls run one after another, a millisecond or so each on an
/// ordinary disk. Relative paths, and every path natively, are flushed
/// here, one by one.
pub fn flush_files(paths: &[&Path]) -> Vec<io::Result<()>> {
    flushed_by_host(paths)
        .into_iter()
        .zip(paths)
        .map(|(done, path)| {
            done.unwrap_or_else(|| WriteFile::open_existing(path).and_then(|f| f.sync_all()))
        })
        .collect()
}

/// What the host flushed: a result for each absolute path, `None` for the
/// rest (and for every path natively, where there is no host).
fn flushed_by_host(paths: &[&Path]) -> Vec<Option<io::Result<()>>> {
    #[cfg_attr(not(target_os = "wasi"), allow(unused_mut))]
    let mut out: Vec<Option<io::Result<()>>> = paths.iter().map(|_| None).collect();
    #[cfg(target_os = "wasi")]
    {
        let mut at = Vec::new();
        let mut absolute = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            if let (true, Some(s)) = (p.is_absolute(), p.to_str()) {
                at.push(i);
                absolute.push(s.to_string());
            }
        }
        if !absolute.is_empty() {
            let results = crate::bindings::swamp::datastore::host_info::flush_files(&absolute);
            for (i, r) in at.into_iter().zip(results) {
                // The message leaves the path out: the caller names it.
                out[i] = Some(r.map_err(io::Error::other));
            }
        }
    }
    out
}
