//! Cache-relative, forward-slash paths (`relPath`, lock keys, index keys).
//! Everything a host hands a guest as a relative path passes through here
//! before it touches a disk or a bucket, so traversal is refused in one place.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A validated relative path: non-empty, forward-slash separated, no `..`,
/// no NUL or backslash, with `.` segments and repeated slashes removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Validate and normalise `raw`. `what` names the argument in the error
    /// ("rel-path", "lock key").
    pub fn parse(raw: &str, what: &str) -> Result<RelPath> {
        let refuse = |why: &str| Err(Error::InvalidArgument(format!("{what} {raw:?} {why}")));
        if raw.is_empty() {
            return refuse("is empty");
        }
        if raw.contains('\0') {
            return refuse("contains a NUL character");
        }
        if raw.contains('\\') {
            return refuse("contains a backslash; use forward slashes");
        }
        if raw.starts_with('/') {
            return refuse("is absolute; it must be relative to the root");
        }
        // Judged on the first named segment, as it starts the normal form:
        // `./C:/x` normalises to `C:/x` (caught by the `rel_path` fuzz
        // property that a normal form is accepted as itself).
        let first = raw.split('/').find(|s| !matches!(*s, "" | "."));
        let b = first.unwrap_or_default().as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return refuse("starts with a drive letter; it must be relative");
        }
        let mut segments = Vec::new();
        for seg in raw.split('/') {
            match seg {
                "" | "." => continue,
                ".." => return refuse("contains a '..' segment"),
                s => segments.push(s),
            }
        }
        if segments.is_empty() {
            return refuse("names no file (only '.' and '/')");
        }
        Ok(RelPath(segments.join("/")))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `raw` is already a path in normal form, i.e. exactly what
    /// [`RelPath::parse`] accepts and returns unchanged: checked without
    /// allocating, because every key of a read index is checked (10,000
    /// keys for a 10,000-file index, on every push and pull).
    pub fn is_normal(raw: &str) -> bool {
        let b = raw.as_bytes();
        // A drive letter would start the first segment (which, in normal
        // form, is the first thing in `raw`).
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return false;
        }
        !raw.is_empty()
            && !raw.contains(['\0', '\\'])
            && raw.split('/').all(|seg| !matches!(seg, "" | "." | ".."))
    }

    /// The path below `root` on disk (forward slashes become components).
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        for seg in self.0.split('/') {
            p.push(seg);
        }
        p
    }

    /// The segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// True when `self` equals `dir` or lies below it.
    pub fn is_within(&self, dir: &str) -> bool {
        is_within(&self.0, dir)
    }
}

/// True when forward-slash path `p` equals `dir` or lies below it.
pub fn is_within(p: &str, dir: &str) -> bool {
    p == dir || (p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/')
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        RelPath::parse(s, "rel-path").unwrap().to_string()
    }

    fn refused(s: &str) -> String {
        match RelPath::parse(s, "rel-path") {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{s:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn normalises_dots_and_slashes() {
        assert_eq!(ok("data/a/b"), "data/a/b");
        assert_eq!(ok("./data//a/./b/"), "data/a/b");
        assert_eq!(ok("a"), "a");
        assert_eq!(ok(".namespace.json"), ".namespace.json");
        assert_eq!(ok("a/..b/c.."), "a/..b/c..");
    }

    #[test]
    fn refuses_traversal_and_odd_characters_naming_the_path() {
        assert!(refused("").contains("is empty"));
        assert!(refused("/etc/passwd").contains("\"/etc/passwd\" is absolute"));
        assert!(refused("a/../../b").contains("'..'"));
        assert!(refused("..").contains("'..'"));
        assert!(refused("a\\b").contains("backslash"));
        assert!(refused("a\0b").contains("NUL"));
        assert!(refused("C:/x").contains("drive letter"));
        assert!(refused(".//C:/x").contains("drive letter"));
        assert!(refused("./").contains("names no file"));
        assert!(refused("//").contains("absolute"));
    }

    #[test]
    fn normal_form_is_what_parse_returns_unchanged() {
        // Every string over an alphabet that exercises each rule, up to
        // five characters: is_normal agrees with parse-then-compare.
        let alphabet = ['a', '/', '.', ':', '\\', '\0', 'C'];
        let mut words = vec![String::new()];
        let mut checked = 0;
        for _ in 0..5 {
            let mut next = Vec::new();
            for w in &words {
                for c in alphabet {
                    let s = format!("{w}{c}");
                    let by_parse = RelPath::parse(&s, "p").is_ok_and(|p| p.as_str() == s);
                    assert_eq!(RelPath::is_normal(&s), by_parse, "{s:?}");
                    checked += 1;
                    next.push(s);
                }
            }
            words = next;
        }
        assert!(checked > 19_000);
        assert!(!RelPath::is_normal(""));
        assert!(RelPath::is_normal("data/a/b"));
    }

    #[test]
    fn joins_under_a_root() {
        let p = RelPath::parse("data/x/raw", "p").unwrap();
        assert_eq!(
            p.under(Path::new("/cache")),
            PathBuf::from("/cache/data/x/raw")
        );
    }

    #[test]
    fn within_checks_whole_segments() {
        assert!(is_within("data/a/b", "data/a"));
        assert!(is_within("data/a", "data/a"));
        assert!(!is_within("data/ab", "data/a"));
        assert!(!is_within("data", "data/a"));
    }
}
