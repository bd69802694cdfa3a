//! Loading the hostile input corpus (`hostile/`, see its README) and the
//! checks every driver applies to a case: outcome against expectation, and
//! "nothing written outside" by snapshotting a sentinel tree.
//!
//! Used by the fs driver (`swamp-host/tests/all/fs/hostile_corpus.rs`)
//! and the S3 driver (`swamp-host/tests/all/s3/hostile_corpus.rs`); the cases
//! stay in `hostile/`, read at run time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use swamp_host::{DatastoreError, HostError, OpenOptions, Plugin, Provider, SyncService};

/// The good remote file every index, sidecar and key case sits beside.
pub const GOOD_REL: &str = "data/good/m/1/raw";
pub const GOOD: &[u8] = b"good\n";
/// A file a case's push creates.
pub const NEW_REL: &str = "data/new/m/1/raw";
/// A local file that must survive every case.
pub const LOCAL_REL: &str = "data/local/m/1/raw";
pub const LOCAL: &[u8] = b"local\n";

/// A lock handle that waits briefly (a held lock is a quick lock-timeout).
pub fn brief(key: &str) -> swamp_host::LockOptions {
    swamp_host::LockOptions::with_key(key)
        .ttl_ms(30_000)
        .retry_interval_ms(50)
        .max_wait_ms(300)
}

/// The corpus folder (this crate sits two levels below the root).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hostile")
}

include!("../../../hostile/recipe.rs");

/// One case: its file, its content (recipes expanded) and its expectation.
#[derive(Debug, Clone)]
pub struct Case {
    pub folder: String,
    pub name: String,
    pub content: Content,
    pub expect: Value,
}

impl Case {
    /// The content's bytes (panics for a symlink or directory case).
    pub fn bytes(&self) -> &[u8] {
        match &self.content {
            Content::Bytes(b) => b,
            other => panic!("{}: expected bytes, got {other:?}", self.id()),
        }
    }

    /// The content as text (rel-paths, bucket keys: WIT strings are UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes().to_vec())
            .unwrap_or_else(|_| panic!("{}: not UTF-8", self.id()))
    }

    pub fn id(&self) -> String {
        format!("{}/{}", self.folder, self.name)
    }

    /// The expectation of `op` for `backend`: `expect[backend][op]` when
    /// given, else `expect[op]`.
    pub fn expectation(&self, backend: &str, op: &str) -> Option<&Value> {
        self.expect
            .get(backend)
            .and_then(|b| b.get(op))
            .or_else(|| self.expect.get(op))
    }

    /// A string field of the expectation (`at`, ...).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.expect.get(key).and_then(Value::as_str)
    }
}

/// Every case of `folder`, in name order. Every file must have an entry in
/// the folder's `expect.json` and every entry a file: a case cannot be
/// skipped silently.
pub fn load(folder: &str) -> Vec<Case> {
    let dir = root().join(folder);
    let manifest: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(dir.join("expect.json"))
            .unwrap_or_else(|e| panic!("{folder}/expect.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("{folder}/expect.json: {e}"));
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "expect.json")
        .collect();
    let listed: BTreeSet<String> = manifest.keys().cloned().collect();
    assert_eq!(files, listed, "{folder}: case files and expect.json differ");
    manifest
        .into_iter()
        .map(|(name, expect)| {
            let raw = std::fs::read(dir.join(&name)).unwrap();
            let content = if name.ends_with(".recipe.json") {
                expand(&raw, &name)
            } else {
                Content::Bytes(raw)
            };
            Case {
                folder: folder.to_string(),
                name,
                content,
                expect,
            }
        })
        .collect()
}

/// Put `content` at `path` (parents created; anything there replaced).
pub fn place(path: &Path, content: &Content) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path).unwrap();
    } else if path.symlink_metadata().is_ok() {
        std::fs::remove_file(path).unwrap();
    }
    match content {
        Content::Bytes(b) => std::fs::write(path, b).unwrap(),
        Content::Symlink(t) => std::os::unix::fs::symlink(t, path).unwrap(),
        Content::Directory => std::fs::create_dir(path).unwrap(),
    }
}

/// What a call gave back, reduced to what expectations talk about.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ok(Value),
    /// `kind` is the datastore error's WIT name, `schema` for the host's
    /// JSON Schema refusal, or `trap`, `deadline`, `stopped`, `load`,
    /// `sandbox` for failures of the plugin itself.
    Err {
        kind: String,
        message: String,
    },
}

impl Outcome {
    pub fn of<T: serde::Serialize>(r: Result<T, HostError>) -> Outcome {
        match r {
            Ok(v) => Outcome::Ok(serde_json::to_value(v).unwrap_or(Value::Null)),
            Err(e) => Outcome::from_error(&e),
        }
    }

    pub fn from_error(e: &HostError) -> Outcome {
        let kind = match e {
            HostError::Datastore(d) => d.kind(),
            HostError::InvalidConfig { .. } => "schema",
            HostError::Trap { .. } => "trap",
            HostError::Deadline { .. } => "deadline",
            HostError::InstanceStopped(_) => "stopped",
            HostError::Load { .. } => "load",
            HostError::Sandbox(_) => "sandbox",
        };
        Outcome::Err {
            kind: kind.to_string(),
            message: e.to_string(),
        }
    }
}

/// Compare `got` with the expectation `want` (`{"error": kind, "mentions":
/// [..]}` or `{"ok": value-or-null}`). `Err` says what differs.
pub fn check(want: &Value, got: &Outcome) -> Result<(), String> {
    // Head and tail: OS errors put the reason after a long path.
    let short = |m: &str| {
        let c: Vec<char> = m.chars().collect();
        if c.len() <= 400 {
            return m.to_string();
        }
        let head: String = c[..200].iter().collect();
        let tail: String = c[c.len() - 200..].iter().collect();
        format!("{head}…{tail}")
    };
    match (want.get("error"), got) {
        (Some(kind), Outcome::Err { kind: k, message }) => {
            if kind != k.as_str() {
                return Err(format!(
                    "expected {kind} error, got {k}: {}",
                    short(message)
                ));
            }
            for m in want["mentions"].as_array().into_iter().flatten() {
                let m = m.as_str().unwrap();
                if !message.contains(m) {
                    return Err(format!(
                        "{k} error does not mention {m:?}: {}",
                        short(message)
                    ));
                }
            }
            Ok(())
        }
        (Some(kind), Outcome::Ok(v)) => Err(format!("expected {kind} error, got Ok({v})")),
        (None, Outcome::Ok(v)) => match want.get("ok") {
            None | Some(Value::Null) => Ok(()),
            Some(w) if w == v => Ok(()),
            Some(w) => Err(format!("expected Ok({w}), got Ok({v})")),
        },
        (None, Outcome::Err { kind, message }) => Err(format!(
            "expected {want}, got {kind} error: {}",
            short(message)
        )),
    }
}

/// The escape targets planted around a case's directories.
pub const SENTINELS: [&str; 6] = [
    "sentinel.txt",
    "escape",
    "l1/sentinel.txt",
    "l1/escape",
    "l1/l2/sentinel.txt",
    "l1/l2/escape",
];

/// A sentinel tree: `root/l1/l2/` holds the case's working directories, and
/// sentinel files sit at each level where a `..` escape would land.
pub struct Sentinel {
    pub dir: tempfile::TempDir,
    before: BTreeMap<PathBuf, String>,
    skip: Vec<PathBuf>,
}

impl Sentinel {
    /// Plant the tree; `work` names the working directories made under
    /// `l1/l2/` (excluded from the snapshot).
    pub fn new(work: &[&str]) -> Sentinel {
        let dir = tempfile::tempdir().unwrap();
        for s in SENTINELS {
            let p = dir.path().join(s);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("sentinel {s}\n")).unwrap();
        }
        let skip: Vec<PathBuf> = work
            .iter()
            .map(|w| dir.path().join("l1/l2").join(w))
            .collect();
        for w in &skip {
            std::fs::create_dir_all(w).unwrap();
        }
        let mut s = Sentinel {
            dir,
            before: BTreeMap::new(),
            skip,
        };
        s.before = s.snapshot();
        s
    }

    /// A working directory (`l1/l2/{name}`).
    pub fn work(&self, name: &str) -> PathBuf {
        self.dir.path().join("l1/l2").join(name)
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &self.skip, &mut out);
        out
    }

    /// `Err` listing every path created, changed or removed outside the
    /// working directories since [`Sentinel::new`].
    pub fn unchanged(&self) -> Result<(), String> {
        let after = self.snapshot();
        if after == self.before {
            return Ok(());
        }
        let keys: BTreeSet<_> = after.keys().chain(self.before.keys()).collect();
        let diff: Vec<String> = keys
            .into_iter()
            .filter(|k| after.get(*k) != self.before.get(*k))
            .map(|k| k.display().to_string())
            .collect();
        Err(format!("written outside the working directories: {diff:?}"))
    }
}

fn walk(dir: &Path, skip: &[PathBuf], out: &mut BTreeMap<PathBuf, String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if skip.contains(&p) {
            continue;
        }
        let meta = p.symlink_metadata().unwrap();
        let what = if meta.file_type().is_symlink() {
            format!("symlink {:?}", std::fs::read_link(&p).unwrap())
        } else if meta.is_dir() {
            walk(&p, skip, out);
            "dir".to_string()
        } else {
            hex::encode(Sha256::digest(std::fs::read(&p).unwrap()))
        };
        out.insert(p, what);
    }
}

/// Failures collected over a whole folder, reported together.
#[derive(Default)]
pub struct Report {
    pub ran: usize,
    pub failures: Vec<String>,
    /// Per-case wall time, printed with `--nocapture` (the corpus must stay
    /// cheap; see hostile/README.md).
    pub timings: Vec<(String, std::time::Duration)>,
}

impl Report {
    /// Count a finished case that started at `since`.
    pub fn done(&mut self, case: &Case, since: std::time::Instant) {
        self.ran += 1;
        self.timings.push((case.id(), since.elapsed()));
    }

    pub fn note(&mut self, case: &Case, what: &str, r: Result<(), String>) {
        if let Err(e) = r {
            self.failures.push(format!("{} [{what}]: {e}", case.id()));
        }
    }

    pub fn assert_clean(&self, label: &str) {
        assert!(self.ran > 0, "{label}: no case ran");
        for (id, d) in &self.timings {
            eprintln!("{label}: {id} took {d:?}");
        }
        assert!(
            self.failures.is_empty(),
            "{label}: {} of {} cases failed:\n{}",
            self.failures.len(),
            self.ran,
            self.failures.join("\n")
        );
        let mut t = self.timings.clone();
        t.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
        let total: std::time::Duration = t.iter().map(|(_, d)| *d).sum();
        eprintln!(
            "{label}: {} cases passed in {total:?}; slowest: {:?}",
            self.ran,
            &t[..t.len().min(3)]
        );
    }
}

/// `Err` unless the provider and every service still answer.
pub async fn alive(provider: &Provider, services: &[&SyncService]) -> Result<(), String> {
    provider
        .features()
        .await
        .map_err(|e| format!("provider no longer answers: {e}"))?;
    for svc in services {
        svc.capabilities()
            .await
            .map_err(|e| format!("sync service no longer answers: {e}"))?;
    }
    Ok(())
}

/// Check `got` against the case's expectation of `op` on `backend`.
pub fn expect_op(r: &mut Report, case: &Case, backend: &str, op: &str, got: &Outcome) {
    match case.expectation(backend, op) {
        Some(want) => r.note(case, op, check(want, got)),
        None => r.failures.push(format!(
            "{}: no expectation for {op} on {backend}",
            case.id()
        )),
    }
}

pub fn same_file(path: &Path, want: &[u8], what: &str) -> Result<(), String> {
    match std::fs::read(path) {
        Ok(b) if b == want => Ok(()),
        Ok(_) => Err(format!("{what} {} was changed", path.display())),
        Err(e) => Err(format!("{what} {} is gone: {e}", path.display())),
    }
}

/// A placed hostile file that a refused call must have left as it was.
pub fn untouched(path: &Path, content: &Content) -> Result<(), String> {
    match content {
        Content::Bytes(b) => same_file(path, b, "refused input"),
        _ => Ok(()),
    }
}

fn problem_paths(problems: &[swamp_host::ConfigProblem]) -> Vec<String> {
    problems.iter().map(|p| p.path.clone()).collect()
}

/// Config check of one case: the schema's verdict (`schema`: a JSON
/// pointer that must be among its problems, with `schema_mentions` in their
/// messages; null: the schema passes it), then the guest's own through
/// `open_unchecked` (`guest`: a pointer among its invalid-config problems,
/// with `mentions` in the message; an outcome object such as a sandbox
/// error; null: accepted), then `open` (the schema refuses first, else as
/// the guest).
pub async fn config_case(plugin: &Plugin, case: &Case, r: &mut Report) {
    let config: Value = serde_json::from_slice(case.bytes()).unwrap();
    let problems = plugin.validate_config(&config);
    let all = problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect::<Vec<_>>()
        .join("; ");
    let schema = match case.expect.get("schema") {
        Some(Value::String(p)) if !problems.iter().any(|x| &x.path == p) => {
            Err(format!("schema problems [{all}] lack {p:?}"))
        }
        Some(Value::String(_)) => match case.field("schema_mentions") {
            Some(m) if !all.contains(m) => {
                Err(format!("schema problems [{all}] do not mention {m:?}"))
            }
            _ => Ok(()),
        },
        _ if !problems.is_empty() => Err(format!("expected the schema to pass, got [{all}]")),
        _ => Ok(()),
    };
    r.note(case, "schema", schema);
    let guest_check = |res: Result<Provider, HostError>, what: &str| -> Result<(), String> {
        match (case.expect.get("guest"), res) {
            (
                Some(Value::String(want)),
                Err(HostError::Datastore(DatastoreError::InvalidConfig(p))),
            ) => {
                if !p.iter().any(|x| &x.path == want) {
                    return Err(format!(
                        "{what}: problems {:?} lack {want:?}",
                        problem_paths(&p)
                    ));
                }
                let msg = DatastoreError::InvalidConfig(p).to_string();
                match case.field("mentions") {
                    Some(m) if !msg.contains(m) => {
                        Err(format!("{what}: {msg:?} does not mention {m:?}"))
                    }
                    _ => Ok(()),
                }
            }
            (Some(Value::String(_)), Err(e)) => Err(format!(
                "{what}: expected the guest's invalid-config, got {e}"
            )),
            (Some(Value::String(_)), Ok(_)) => Err(format!("{what}: accepted")),
            (Some(want @ Value::Object(_)), res) => {
                check(want, &Outcome::of(res.map(|_| ()))).map_err(|e| format!("{what}: {e}"))
            }
            (_, Ok(_)) => Ok(()),
            (_, Err(e)) => Err(format!("{what}: expected acceptance, got {e}")),
        }
    };
    let res = plugin
        .open_unchecked(config.clone(), OpenOptions::default())
        .await;
    r.note(case, "guest", guest_check(res, "open_unchecked"));
    let res = plugin.open(config, OpenOptions::default()).await;
    let checked = match (&res, problems.is_empty()) {
        (Err(HostError::InvalidConfig { problems: p, .. }), false) if !p.is_empty() => Ok(()),
        (_, false) => Err(format!(
            "open: expected the schema's refusal, got {:?}",
            res.as_ref().err()
        )),
        (_, true) => guest_check(res, "open"),
    };
    r.note(case, "open", checked);
}
