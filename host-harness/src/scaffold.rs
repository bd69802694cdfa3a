//! `host-harness new`: a new datastore crate that builds to a component and
//! passes `host-harness check` as written.
//!
//! The files are the templates under `host-harness/templates/new/`,
//! compiled into the binary. Two kinds of markup, both small enough not to
//! need a template engine: `{{key}}` is replaced by a value, and a line
//! holding `{{#sync}}` or `{{^sync}}` opens a block kept only with (or
//! only without) `--sync`, up to a line holding `{{/sync}}`. Marker lines
//! are comments in the file's own syntax, so the templates stay readable
//! (and, for the Rust files, parse) as they are.

use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// Every file of a new crate: its path in the crate and its template.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/new/Cargo.toml.template"),
    ),
    (
        "rust-toolchain.toml",
        include_str!("../templates/new/rust-toolchain.toml"),
    ),
    (".gitignore", include_str!("../templates/new/gitignore")),
    ("README.md", include_str!("../templates/new/README.md")),
    ("check.sh", include_str!("../templates/new/check.sh")),
    ("schema.json", include_str!("../templates/new/schema.json")),
    ("src/lib.rs", include_str!("../templates/new/src/lib.rs")),
    ("src/lock.rs", include_str!("../templates/new/src/lock.rs")),
    (
        "src/verifier.rs",
        include_str!("../templates/new/src/verifier.rs"),
    ),
    (
        "src/remote.rs",
        include_str!("../templates/new/src/remote.rs"),
    ),
];

/// Files written only with `--sync`.
const SYNC_ONLY: &[&str] = &["src/remote.rs"];

/// The toolchain file of this checkout: the new crate pins the same
/// channel, the one the SDK is built and tested with.
const TOOLCHAIN_FILE: &str = include_str!("../../rust-toolchain.toml");

/// Where the new crate gets `swamp-datastore-sdk`.
#[derive(Debug, Clone)]
pub enum Sdk {
    /// A directory holding the SDK crate (`guest/sdk` of a checkout).
    Path(PathBuf),
    /// A git repository holding this workspace, at `rev` if given.
    Git { url: String, rev: Option<String> },
}

/// What `new` was asked for.
#[derive(Debug, Clone)]
pub struct NewCrate {
    /// The crate name (also the datastore's name and type suffix).
    pub name: String,
    /// The directory to create; it must not exist.
    pub dir: PathBuf,
    /// Add a sync service on the SDK's sync engine.
    pub sync: bool,
    pub sdk: Sdk,
    /// The `host-harness` that `check.sh` runs by default.
    pub harness: Option<PathBuf>,
}

/// The SDK of the checkout this binary was built from.
pub fn default_sdk_path() -> PathBuf {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    harness
        .parent()
        .unwrap_or(harness)
        .join("guest")
        .join("sdk")
}

/// Names cargo refuses for a package, or that would clash with the SDK.
const RESERVED: &[&str] = &[
    "test",
    "core",
    "std",
    "alloc",
    "proc_macro",
    "proc-macro",
    "build",
    "deps",
    "examples",
    "incremental",
    "self",
    "super",
    "crate",
    "fn",
    "mod",
    "use",
    "type",
    "struct",
    "enum",
    "impl",
    "trait",
    "let",
    "match",
    "loop",
    "while",
    "for",
    "if",
    "else",
    "return",
    "move",
    "ref",
    "mut",
    "pub",
    "static",
    "const",
    "where",
    "as",
    "in",
    "dyn",
    "async",
    "await",
    "unsafe",
    "extern",
    "break",
    "continue",
    "true",
    "false",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "swamp-datastore-sdk",
    "swamp_datastore_sdk",
];

/// Refuse a name that is not a crate name usable as a datastore type:
/// lowercase ASCII letters, digits, `-` and `_`, starting with a letter
/// (swamp's type pattern, `@collective/name`, has no capitals).
pub fn validate_name(name: &str) -> Result<()> {
    let rule = "a crate and datastore name is 1 to 64 lowercase ASCII letters, digits, '-' or '_', starting with a letter";
    let well_formed = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !well_formed {
        bail!("{name:?} is not a valid name: {rule}");
    }
    if RESERVED.contains(&name) {
        bail!(
            "{name:?} cannot be a crate name here: it is a Rust keyword, a name cargo reserves, or the SDK's own"
        );
    }
    Ok(())
}

/// `my-store` -> `MyStore`: the prefix of the crate's type names.
fn camel_case(name: &str) -> String {
    name.split(['-', '_'])
        .flat_map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

/// The `[dependencies]` line for the SDK. Strings are written as JSON
/// strings, which are valid TOML basic strings.
fn sdk_dependency(sdk: &Sdk) -> Result<String> {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
    Ok(match sdk {
        Sdk::Path(path) => {
            let path = path
                .to_str()
                .with_context(|| format!("SDK path {} is not UTF-8", path.display()))?;
            format!("swamp-datastore-sdk = {{ path = {} }}", quote(path))
        }
        Sdk::Git { url, rev: None } => {
            format!("swamp-datastore-sdk = {{ git = {} }}", quote(url))
        }
        Sdk::Git {
            url,
            rev: Some(rev),
        } => format!(
            "swamp-datastore-sdk = {{ git = {}, rev = {} }}",
            quote(url),
            quote(rev)
        ),
    })
}

/// The channel of this checkout's `rust-toolchain.toml`.
fn toolchain_channel() -> &'static str {
    TOOLCHAIN_FILE
        .lines()
        .filter_map(|l| l.trim().strip_prefix("channel"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"'))
        .next()
        .unwrap_or("stable")
}

/// Apply `{{#sync}}` / `{{^sync}}` blocks, then replace `{{key}}`s.
pub fn render(template: &str, sync: bool, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut keep = true;
    for line in template.split_inclusive('\n') {
        if line.contains("{{#sync}}") {
            keep = sync;
        } else if line.contains("{{^sync}}") {
            keep = !sync;
        } else if line.contains("{{/sync}}") {
            keep = true;
        } else if keep {
            out.push_str(line);
        }
    }
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// The `Cargo.lock` of the workspace holding the SDK, if any: the new
/// crate starts from the dependency versions the SDK is tested with (a
/// fresh resolution could pick versions that need a newer rustc, and needs
/// the registry's index); cargo drops the entries it does not need.
fn workspace_lock(sdk: &Sdk) -> Option<PathBuf> {
    let Sdk::Path(path) = sdk else { return None };
    path.ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|lock| lock.is_file())
}

/// Write the crate; returns the files written, relative to `new.dir`.
pub fn create(new: &NewCrate) -> Result<Vec<PathBuf>> {
    validate_name(&new.name)?;
    if let Sdk::Path(path) = &new.sdk
        && !path.join("Cargo.toml").is_file()
    {
        bail!(
            "no swamp-datastore-sdk at {} (no Cargo.toml there); pass --sdk-path DIR or --sdk-git URL",
            path.display()
        );
    }
    if new.dir.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            new.dir.display()
        );
    }
    let harness = new
        .harness
        .as_ref()
        .and_then(|p| p.to_str())
        // check.sh holds it in double quotes.
        .filter(|p| !p.contains(['"', '$', '`', '\\']))
        .unwrap_or("host-harness");
    let dependency = sdk_dependency(&new.sdk)?;
    let camel = camel_case(&new.name);
    let crate_name = new.name.replace('-', "_");
    let description = match new.sync {
        true => "A local cache synced with a directory; locks in the directory",
        false => "Data and locks in a directory",
    };
    let values = [
        ("name", new.name.as_str()),
        ("Name", camel.as_str()),
        ("crate_name", crate_name.as_str()),
        ("sync", if new.sync { "true" } else { "false" }),
        ("description", description),
        ("sdk_dependency", dependency.as_str()),
        ("toolchain", toolchain_channel()),
        ("host_harness", harness),
    ];
    if let Some(parent) = new.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // create_dir, not create_dir_all: refuse a directory that appeared
    // since the check above.
    fs::create_dir(&new.dir).with_context(|| format!("cannot create {}", new.dir.display()))?;
    let mut written = Vec::new();
    for (rel, template) in FILES {
        if !new.sync && SYNC_ONLY.contains(rel) {
            continue;
        }
        let path = new.dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, render(template, new.sync, &values))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(PathBuf::from(rel));
    }
    make_executable(&new.dir.join("check.sh"))?;
    if let Some(lock) = workspace_lock(&new.sdk) {
        fs::copy(&lock, new.dir.join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lock.display()))?;
        written.push(PathBuf::from("Cargo.lock"));
    }
    Ok(written)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_the_sync_flag_and_values_are_replaced() {
        let t = "a {{name}}\n// {{#sync}}\nsynced\n// {{/sync}}\n// {{^sync}}\nlocal\n// {{/sync}}\nz\n";
        let values = [("name", "x")];
        assert_eq!(render(t, true, &values), "a x\nsynced\nz\n");
        assert_eq!(render(t, false, &values), "a x\nlocal\nz\n");
    }

    #[test]
    fn names_and_their_rust_forms() {
        for ok in ["my-store", "s3x", "a_b-c", "store2"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "", "My-store", "2store", "-x", "my store", "a/b", "é", "test", "fn",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_name(&"a".repeat(65)).is_err());
        assert_eq!(camel_case("my-store_two"), "MyStoreTwo");
        assert_eq!(camel_case("a-"), "A");
    }

    #[test]
    fn the_sdk_line_is_toml_with_the_path_or_git_source() {
        let line = sdk_dependency(&Sdk::Path("/a \"b\"/sdk".into())).unwrap();
        assert_eq!(line, r#"swamp-datastore-sdk = { path = "/a \"b\"/sdk" }"#);
        let line = sdk_dependency(&Sdk::Git {
            url: "https://example.org/r.git".into(),
            rev: Some("abc".into()),
        })
        .unwrap();
        assert_eq!(
            line,
            r#"swamp-datastore-sdk = { git = "https://example.org/r.git", rev = "abc" }"#
        );
        let channel = format!("channel = \"{}\"", toolchain_channel());
        assert!(TOOLCHAIN_FILE.contains(&channel), "{channel}");
        assert!(default_sdk_path().join("Cargo.toml").is_file());
    }
}
