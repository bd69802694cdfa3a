//! The guest's mounts (wasi preopens) and how a path resolves against
//! them, for the files the SDK opens through `wasi:filesystem` itself
//! rather than through wasi-libc: writes (`write_file.rs`) and whole-file
//! reads (`read_file.rs`). Both open here, through the mount that holds the
//! path, as wasi-libc would resolve it; a path under no mount is left to
//! std, so its error (and its hint about mounts) is the one std gives.

/// `path` relative to `mount` when the mount holds it (at a component
/// boundary), as wasi-libc resolves an absolute path; the caller picks the
/// longest mount that does.
#[cfg_attr(not(target_os = "wasi"), allow(dead_code))]
pub(crate) fn relative_to<'p>(mount: &str, path: &'p str) -> Option<&'p str> {
    let m = mount.trim_end_matches('/');
    if m.is_empty() {
        return path
            .strip_prefix('/')
            .map(|r| if r.is_empty() { "." } else { r });
    }
    let rest = path.strip_prefix(m)?;
    if rest.is_empty() {
        Some(".")
    } else {
        rest.strip_prefix('/')
    }
}

#[cfg(target_os = "wasi")]
pub(crate) use imp::{open_at, to_io};

#[cfg(target_os = "wasi")]
mod imp {
    use super::relative_to;
    use crate::io_error::wasi_errno_of;
    use std::io;
    use std::path::Path;
    use wasip2::filesystem::preopens::get_directories;
    use wasip2::filesystem::types::{Descriptor, DescriptorFlags, ErrorCode, OpenFlags, PathFlags};

    thread_local! {
        /// The guest's mounts, read once: the host's table entries for
        /// them live as long as the instance.
        static MOUNTS: Vec<(String, Descriptor)> = get_directories()
            .into_iter()
            .map(|(d, p)| (p, d))
            .collect();
    }

    /// Open the absolute `path` through the longest mount that holds it;
    /// `None` when no mount does (or the path is relative or not UTF-8).
    pub(crate) fn open_at(
        path: &Path,
        open: OpenFlags,
        flags: DescriptorFlags,
    ) -> Option<io::Result<Descriptor>> {
        let path = path.to_str()?;
        if !path.starts_with('/') {
            return None;
        }
        MOUNTS.with(|mounts| {
            let (dir, rel) = mounts
                .iter()
                .filter_map(|(m, d)| relative_to(m, path).map(|r| (m.len(), d, r)))
                .max_by_key(|(len, _, _)| *len)
                .map(|(_, d, r)| (d, r))?;
            Some(
                dir.open_at(PathFlags::SYMLINK_FOLLOW, rel, open, flags)
                    .map_err(to_io),
            )
        })
    }

    /// The WASI error as std reports one: its `errno` number, so messages
    /// name it as for any other file call (`crate::io_error`).
    pub(crate) fn to_io(e: ErrorCode) -> io::Error {
        let name = match e {
            ErrorCode::Access => "EACCES",
            ErrorCode::WouldBlock => "EAGAIN",
            ErrorCode::Already => "EALREADY",
            ErrorCode::BadDescriptor => "EBADF",
            ErrorCode::Busy => "EBUSY",
            ErrorCode::Deadlock => "EDEADLK",
            ErrorCode::Quota => "EDQUOT",
            ErrorCode::Exist => "EEXIST",
            ErrorCode::FileTooLarge => "EFBIG",
            ErrorCode::IllegalByteSequence => "EILSEQ",
            ErrorCode::InProgress => "EINPROGRESS",
            ErrorCode::Interrupted => "EINTR",
            ErrorCode::Invalid => "EINVAL",
            ErrorCode::Io => "EIO",
            ErrorCode::IsDirectory => "EISDIR",
            ErrorCode::Loop => "ELOOP",
            ErrorCode::TooManyLinks => "EMLINK",
            ErrorCode::MessageSize => "EMSGSIZE",
            ErrorCode::NameTooLong => "ENAMETOOLONG",
            ErrorCode::NoDevice => "ENODEV",
            ErrorCode::NoEntry => "ENOENT",
            ErrorCode::NoLock => "ENOLCK",
            ErrorCode::InsufficientMemory => "ENOMEM",
            ErrorCode::InsufficientSpace => "ENOSPC",
            ErrorCode::NotDirectory => "ENOTDIR",
            ErrorCode::NotEmpty => "ENOTEMPTY",
            ErrorCode::NotRecoverable => "ENOTRECOVERABLE",
            ErrorCode::Unsupported => "ENOTSUP",
            ErrorCode::NoTty => "ENOTTY",
            ErrorCode::NoSuchDevice => "ENXIO",
            ErrorCode::Overflow => "EOVERFLOW",
            ErrorCode::NotPermitted => "EPERM",
            ErrorCode::Pipe => "EPIPE",
            ErrorCode::ReadOnly => "EROFS",
            ErrorCode::InvalidSeek => "ESPIPE",
            ErrorCode::TextFileBusy => "ETXTBSY",
            ErrorCode::CrossDevice => "EXDEV",
        };
        match wasi_errno_of(name) {
            Some(n) => io::Error::from_raw_os_error(n),
            None => io::Error::other(format!("{e:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_mounts_at_component_boundaries() {
        assert_eq!(relative_to("/srv/share", "/srv/share/a/b"), Some("a/b"));
        assert_eq!(relative_to("/srv/share/", "/srv/share/a"), Some("a"));
        assert_eq!(relative_to("/srv/share", "/srv/share"), Some("."));
        assert_eq!(relative_to("/srv/share", "/srv/shared/a"), None);
        assert_eq!(relative_to("/", "/a/b"), Some("a/b"));
        assert_eq!(relative_to("/srv/share", "relative/a"), None);
    }
}
