//! Words for an I/O error that an author can act on: WASI error numbers by
//! name, and a path outside every mounted directory said to be one.
//!
//! Inside a component, std reports WASI's own error numbers, so a missing
//! file reads "No such file or directory (os error 44)", and an access to a
//! directory the host never mounted looks exactly like a missing file. The
//! host mounts only the directories that config fields marked
//! `"x-swamp-mount": true` name (`swamp-host/src/sandbox.rs`), so a
//! forgotten annotation is the usual cause; the message says so.

use std::io;

/// The name of a WASI error number (`wasi_snapshot_preview1`'s `errno`,
/// which wasi-libc and so std on `wasm32-wasip2` report).
pub fn wasi_errno_name(n: i32) -> Option<&'static str> {
    usize::try_from(n).ok().and_then(|i| NAMES.get(i).copied())
}

/// The WASI error number of a name such as `"ENOENT"`.
pub fn wasi_errno_of(name: &str) -> Option<i32> {
    NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| i32::try_from(i).ok())
}

/// WASI's error names, indexed by number.
const NAMES: [&str; 77] = [
    "ESUCCESS",
    "E2BIG",
    "EACCES",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "EAFNOSUPPORT",
    "EAGAIN",
    "EALREADY",
    "EBADF",
    "EBADMSG",
    "EBUSY",
    "ECANCELED",
    "ECHILD",
    "ECONNABORTED",
    "ECONNREFUSED",
    "ECONNRESET",
    "EDEADLK",
    "EDESTADDRREQ",
    "EDOM",
    "EDQUOT",
    "EEXIST",
    "EFAULT",
    "EFBIG",
    "EHOSTUNREACH",
    "EIDRM",
    "EILSEQ",
    "EINPROGRESS",
    "EINTR",
    "EINVAL",
    "EIO",
    "EISCONN",
    "EISDIR",
    "ELOOP",
    "EMFILE",
    "EMLINK",
    "EMSGSIZE",
    "EMULTIHOP",
    "ENAMETOOLONG",
    "ENETDOWN",
    "ENETRESET",
    "ENETUNREACH",
    "ENFILE",
    "ENOBUFS",
    "ENODEV",
    "ENOENT",
    "ENOEXEC",
    "ENOLCK",
    "ENOLINK",
    "ENOMEM",
    "ENOMSG",
    "ENOPROTOOPT",
    "ENOSPC",
    "ENOSYS",
    "ENOTCONN",
    "ENOTDIR",
    "ENOTEMPTY",
    "ENOTRECOVERABLE",
    "ENOTSOCK",
    "ENOTSUP",
    "ENOTTY",
    "ENXIO",
    "EOVERFLOW",
    "EOWNERDEAD",
    "EPERM",
    "EPIPE",
    "EPROTO",
    "EPROTONOSUPPORT",
    "EPROTOTYPE",
    "ERANGE",
    "EROFS",
    "ESPIPE",
    "ESRCH",
    "ESTALE",
    "ETIMEDOUT",
    "ETXTBSY",
    "EXDEV",
    "ENOTCAPABLE",
];

/// `err` in words, with its WASI error number named: "No such file or
/// directory (ENOENT, WASI error 44)".
pub fn describe_wasi(err: &io::Error) -> String {
    let text = err.to_string();
    let Some(n) = err.raw_os_error() else {
        return text;
    };
    let Some(name) = wasi_errno_name(n) else {
        return text;
    };
    let plain = text
        .strip_suffix(&format!(" (os error {n})"))
        .unwrap_or(&text);
    format!("{plain} ({name}, WASI error {n})")
}

/// The hint for a failed access to `what` when it is an absolute path
/// outside every mounted directory (`mounts`, the guest's preopens).
pub fn outside_mounts_hint(what: &str, kind: io::ErrorKind, mounts: &[String]) -> Option<String> {
    let denied = matches!(
        kind,
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    );
    if !denied || !what.starts_with('/') {
        return None;
    }
    let within = |m: &String| {
        let m = m.trim_end_matches('/');
        m.is_empty() || what == m || what.starts_with(&format!("{m}/"))
    };
    if mounts.iter().any(within) {
        return None;
    }
    let granted = if mounts.is_empty() {
        "none".to_string()
    } else {
        mounts.join(", ")
    };
    Some(format!(
        "{what} is outside every directory the host mounted for this datastore (mounted: {granted}); \
         a config field that names a directory must be marked \"x-swamp-mount\": true in the config schema"
    ))
}

/// The directories this component was given (its WASI preopens).
#[cfg(target_os = "wasi")]
fn mounts() -> Vec<String> {
    wasip2::filesystem::preopens::get_directories()
        .into_iter()
        .map(|(_, path)| path)
        .collect()
}

/// The message for an I/O failure on `what`: the error in words (WASI
/// numbers named inside a component) and, inside a component, the mount
/// hint when `what` lies outside every mount.
pub fn describe(what: &str, err: &io::Error) -> String {
    #[cfg(target_os = "wasi")]
    {
        let mut msg = format!("{what}: {}", describe_wasi(err));
        if let Some(hint) = outside_mounts_hint(what, err.kind(), &mounts()) {
            msg.push_str(" (");
            msg.push_str(&hint);
            msg.push(')');
        }
        msg
    }
    #[cfg(not(target_os = "wasi"))]
    {
        format!("{what}: {err}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_error_numbers_are_named() {
        assert_eq!(wasi_errno_name(44), Some("ENOENT"));
        assert_eq!(wasi_errno_name(2), Some("EACCES"));
        assert_eq!(wasi_errno_name(25), Some("EILSEQ"));
        assert_eq!(wasi_errno_name(76), Some("ENOTCAPABLE"));
        assert_eq!(wasi_errno_name(77), None);
        assert_eq!(wasi_errno_name(-1), None);
        assert_eq!(wasi_errno_of("ENOENT"), Some(44));
        assert_eq!(wasi_errno_of("EROFS"), Some(69));
        assert_eq!(wasi_errno_of("nope"), None);
        let e = io::Error::from_raw_os_error(44);
        let text = describe_wasi(&e);
        assert!(text.ends_with("(ENOENT, WASI error 44)"), "{text}");
        assert!(!text.contains("os error"), "{text}");
        let e = io::Error::other("no number");
        assert_eq!(describe_wasi(&e), "no number");
    }

    #[test]
    fn a_path_outside_the_mounts_names_the_annotation() {
        let mounts = vec!["/srv/share".to_string()];
        let nf = io::ErrorKind::NotFound;
        let hint = outside_mounts_hint("/srv/other/x", nf, &mounts).unwrap();
        assert!(hint.contains("x-swamp-mount"), "{hint}");
        assert!(hint.contains("mounted: /srv/share"), "{hint}");
        assert_eq!(outside_mounts_hint("/srv/share/x", nf, &mounts), None);
        assert_eq!(outside_mounts_hint("/srv/share", nf, &mounts), None);
        // A sibling whose name only starts like the mount is outside.
        assert!(outside_mounts_hint("/srv/shared/x", nf, &mounts).is_some());
        // Not a path, or not an access failure: no hint.
        assert_eq!(outside_mounts_hint("s3://bucket/key", nf, &mounts), None);
        assert_eq!(
            outside_mounts_hint("/srv/other", io::ErrorKind::Other, &mounts),
            None
        );
        let none = outside_mounts_hint("/x", nf, &[]).unwrap();
        assert!(none.contains("mounted: none"), "{none}");
    }
}
