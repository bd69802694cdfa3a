//! Reading a whole file with as few calls into the host as possible.
//!
//! std's `fs::read` inside a component goes through wasi-libc: resolve the
//! mount, open, stat for the size, open an input stream, read it in a loop
//! and drop the stream, each a call through the component boundary. A lock
//! inspect is little more than one such read, and those calls were most of
//! its cost against the same logic native (`make bench`, figure a).
//! `wasi:filesystem`'s positional `read` needs only the open and two reads
//! (the second one sees the end), on the guest's own thread like the
//! writes of `write_file.rs`.
//!
//! Natively (unit tests, benchmarks of the logic) this is std's `fs::read`.

use std::io;
use std::path::Path;

/// The whole content of `path`, as `std::fs::read`.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    imp::read(path)
}

#[cfg(target_os = "wasi")]
mod imp {
    use crate::wasi_mounts::{open_at, to_io};
    use std::io;
    use std::path::Path;
    use wasip2::filesystem::types::{DescriptorFlags, DescriptorType, ErrorCode, OpenFlags};

    /// The first read's size: a lock file or a small index in one call.
    const FIRST_READ: u64 = 16 * 1024;
    /// Later reads double up to this (the host allocates what is asked).
    const MAX_READ: u64 = 4 * 1024 * 1024;

    pub(super) fn read(path: &Path) -> io::Result<Vec<u8>> {
        let Some(file) = open_at(path, OpenFlags::empty(), DescriptorFlags::READ) else {
            return std::fs::read(path);
        };
        let file = file?;
        let (mut out, mut ask) = (Vec::new(), FIRST_READ);
        loop {
            let (bytes, end) = file.read(ask, out.len() as u64).map_err(|e| match e {
                // A directory opens like a file here, and its read fails as
                // a bad descriptor: say what std says (a directory where a
                // file is expected is a conflict, not an outage).
                ErrorCode::BadDescriptor if file.get_type() == Ok(DescriptorType::Directory) => {
                    to_io(ErrorCode::IsDirectory)
                }
                e => to_io(e),
            })?;
            let done = bytes.is_empty() || end;
            if out.is_empty() {
                out = bytes;
            } else {
                out.extend_from_slice(&bytes);
            }
            if done {
                return Ok(out);
            }
            ask = (ask * 2).min(MAX_READ);
        }
    }
}

#[cfg(not(target_os = "wasi"))]
mod imp {
    pub(super) use std::fs::read;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whole_files_and_reports_a_missing_one() {
        let d = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 300_000] {
            let p = d.path().join(format!("f{size}"));
            let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&p, &body).unwrap();
            assert_eq!(read(&p).unwrap(), body, "size {size}");
        }
        let e = read(&d.path().join("missing")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
