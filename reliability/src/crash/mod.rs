//! Crash consistency: a child process (`sync-child`) runs push, pull or
//! hydrate and is killed with SIGKILL (`std::process::Child::kill` sends
//! SIGKILL on Unix) at a random point, many times. After every kill:
//!
//! * every file in the child's cache that is not named as a temporary file
//!   is complete (self-verifying content, state files whole JSON);
//! * every entry of the remote index points to an object that exists and
//!   is complete (no partly uploaded or deleted object listed);
//! * for push: every file in the writer's cache holds either the last
//!   generation the child finished writing or the one it was writing;
//! * the next sync, by a fresh process, converges: after the remote has
//!   moved on once more, a converging push leaves the index listing exactly
//!   the writer's files with their hashes, and a pull (or hydrate) brings a
//!   reader's cache to exactly the writer's tree.
//!
//! Temporary files a killed download leaves are named as temps; the engine
//! ignores them (never pushed, never listed) and does not clean them up —
//! the scenario asserts the first and counts them.
//!
//! Kill points: a delay after the child's `ready` line, uniform in a window
//! calibrated from an unkilled run of the same operation, from a seeded
//! generator (the seed is in the report; each kill is logged on stderr).

pub mod checks;
pub mod child;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

use crate::Remote;
pub use child::{ChildArgs, Op};

/// The shape of a crash run.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    /// The `sync-child` binary.
    pub child: PathBuf,
    /// Kills per operation.
    pub kills: usize,
    pub ops: Vec<Op>,
    pub files: usize,
    /// Files edited per push round.
    pub changes: usize,
    pub seed: u64,
}

/// Figures of one operation's kills.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpReport {
    pub op: String,
    pub kills: usize,
    /// Children that finished before their kill came (the kill then hit
    /// nothing; they are still checked).
    pub finished_before_kill: usize,
    /// The kill window, calibrated from an unkilled run.
    pub window_ms: u64,
    /// Temporary files found in the cache after each kill, summed over the
    /// kills. The engine never removes them (it only ignores them), so they
    /// accumulate: the sum grows roughly with the square of the kills.
    pub temps_left: usize,
    /// Index entries whose object was a complete later version after a
    /// kill (the kill fell between an upload and its index commit).
    pub index_newer_than_listed: usize,
    /// Objects no index lists after a kill (fs only).
    pub orphans_max: Option<usize>,
    /// Kills that left the fs share's index mutex (`_index/.lock`) behind
    /// (fs only; see [`age_index_mutexes`]).
    pub index_mutex_left: usize,
    pub wall_ms: f64,
}

/// What a crash run found.
#[derive(Debug, Clone, Serialize)]
pub struct CrashReport {
    pub backend: String,
    pub seed: u64,
    pub files: usize,
    pub ops: Vec<OpReport>,
    /// Every broken invariant (empty when all held).
    pub violations: Vec<String>,
    pub wall_ms: f64,
}

/// A child run: its stdout lines and whether it ended before the kill.
struct Outcome {
    lines: Vec<String>,
    finished_early: bool,
}

/// The scenario's directories and its child command line.
struct Scenario<'a> {
    remote: &'a Remote,
    cfg: &'a CrashConfig,
    base: ChildArgs,
    writer: PathBuf,
    reader: PathBuf,
    hydrator: PathBuf,
    rng: fastrand::Rng,
    spawned: u64,
    /// Generation of every file the writer's cache should hold (None:
    /// absent), from the child's lines.
    expected: BTreeMap<String, Option<u64>>,
    violations: Vec<String>,
}

impl Scenario<'_> {
    fn args(&mut self, op: Op, cache: &Path, rounds: u64, changes: usize) -> ChildArgs {
        ChildArgs {
            op,
            cache: cache.to_path_buf(),
            repo: cache.with_extension("repo"),
            rounds,
            changes,
            seed: self.rng.u64(..),
            ..self.base.clone()
        }
    }

    /// Run a child; kill it `kill_after` past its `ready` line, or let it
    /// finish (`None`). A child that fails on its own is an error.
    fn run(&mut self, args: &ChildArgs, kill_after: Option<Duration>) -> Result<Outcome> {
        self.spawned += 1;
        let err_path = self
            .remote
            .scratch()
            .join(format!("child-{}.stderr", self.spawned));
        let mut child = Command::new(&self.cfg.child)
            .args(args.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err_path)?)
            .spawn()
            .with_context(|| format!("starting {}", self.cfg.child.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let mut finished_early = false;
        let stderr = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        if let Some(delay) = kill_after {
            // Wait for `ready`, then for the kill point.
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(l) if l == "ready" => {
                        lines.push(l);
                        break;
                    }
                    Ok(l) => lines.push(l),
                    Err(_) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        bail!(
                            "{} child never became ready; stderr:\n{}",
                            args.op.name(),
                            stderr(&err_path)
                        );
                    }
                }
            }
            std::thread::sleep(delay);
            if child.try_wait()?.is_some() {
                finished_early = true;
            } else {
                // SIGKILL on Unix.
                child.kill().context("killing the child")?;
            }
        }
        let status = child.wait()?;
        let _ = reader.join();
        lines.extend(rx.try_iter());
        if (kill_after.is_none() || finished_early) && !status.success() {
            bail!(
                "{} child failed on its own ({status}); stderr:\n{}",
                args.op.name(),
                stderr(&err_path)
            );
        }
        let _ = std::fs::remove_file(&err_path);
        Ok(Outcome {
            lines,
            finished_early,
        })
    }

    /// The longest round an unkilled run reported.
    fn longest_round(lines: &[String]) -> u64 {
        lines
            .iter()
            .filter_map(|l| l.rsplit_once("ms=").and_then(|(_, ms)| ms.parse().ok()))
            .max()
            .unwrap_or(0)
    }

    /// Fold a push child's lines into the expected writer tree and check
    /// the writer's cache against it: each file holds what the child last
    /// finished writing, or what it was writing when killed.
    fn settle_writer(&mut self, lines: &[String], scan: &checks::CacheScan) {
        let mut pending: BTreeMap<String, Option<u64>> = BTreeMap::new();
        for l in lines {
            let mut w = l.split(' ');
            match (w.next(), w.next(), w.next().and_then(|g| g.parse().ok())) {
                (Some("writing"), Some(rel), Some(g)) => {
                    pending.insert(rel.into(), Some(g));
                }
                (Some("wrote"), Some(rel), Some(g)) => {
                    pending.remove(rel);
                    self.expected.insert(rel.into(), Some(g));
                }
                (Some("deleting"), Some(rel), _) => {
                    pending.insert(rel.into(), None);
                }
                (Some("deleted"), Some(rel), _) => {
                    pending.remove(rel);
                    self.expected.insert(rel.into(), None);
                }
                _ => {}
            }
        }
        for rel in crate::content::tree(self.cfg.files) {
            let actual = scan
                .files
                .get(&rel)
                .and_then(|b| crate::content::verify(&rel, b).ok());
            let want = self.expected.get(&rel).copied().flatten();
            let in_flight = pending.get(&rel).copied();
            if actual != want && in_flight != Some(actual) {
                self.violations.push(format!(
                    "writer cache: {rel} holds generation {actual:?}, expected {want:?}{}",
                    in_flight.map_or(String::new(), |p| format!(" or {p:?} (in flight)"))
                ));
            }
            self.expected.insert(rel, actual);
        }
    }

    /// A push round by the writer, unkilled; records what it wrote.
    fn writer_round(&mut self, changes: usize) -> Result<u64> {
        let args = self.args(Op::Push, &self.writer.clone(), 1, changes);
        let out = self.run(&args, None)?;
        let scan = checks::scan_cache(&self.writer)?;
        self.note("writer cache", &scan.problems);
        self.settle_writer(&out.lines, &scan);
        Ok(Self::longest_round(&out.lines))
    }

    fn note(&mut self, context: &str, problems: &[String]) {
        self.violations
            .extend(problems.iter().map(|p| format!("{context}: {p}")));
    }

    /// The writer's data files.
    fn writer_tree(&self) -> Result<BTreeMap<String, Vec<u8>>> {
        Ok(checks::scan_cache(&self.writer)?.files)
    }

    /// The index lists exactly the writer's files, each object exact.
    fn index_matches_writer(&mut self, when: &str) -> Result<()> {
        let index = checks::scan_index(self.remote)?;
        self.note(&format!("index {when}"), &index.problems);
        for rel in &index.newer {
            self.violations.push(format!(
                "index {when}: {rel} lists other content than its object holds"
            ));
        }
        let writer = self.writer_tree()?;
        let listed: Vec<&String> = index.entries.keys().collect();
        let have: Vec<&String> = writer.keys().collect();
        if listed != have {
            self.violations.push(format!(
                "index {when}: lists {listed:?} but the writer has {have:?}"
            ));
        }
        Ok(())
    }

    /// After a kill: the child's cache has no torn file, the index lists
    /// no missing or torn object. Returns (temps, newer, orphans).
    fn after_kill(
        &mut self,
        what: &str,
        cache: &Path,
    ) -> Result<(checks::CacheScan, usize, Option<usize>)> {
        let scan = checks::scan_cache(cache)?;
        self.note(&format!("after a killed {what}"), &scan.problems);
        let index = checks::scan_index(self.remote)?;
        self.note(&format!("index after a killed {what}"), &index.problems);
        let orphans = checks::orphans(self.remote, &index)?;
        Ok((scan, index.newer.len(), orphans))
    }

    /// A fresh process pulls (or hydrates) `cache`; it must equal the
    /// writer. Returns how long its round took.
    fn converge_reader(&mut self, op: Op, cache: &Path, when: &str) -> Result<u64> {
        let args = self.args(op, cache, 1, 0);
        let out = self.run(&args, None)?;
        let got = checks::scan_cache(cache)?;
        self.note(&format!("{} cache {when}", op.name()), &got.problems);
        let want = self.writer_tree()?;
        let d = checks::diff(&format!("{} cache {when}", op.name()), &want, &got.files);
        self.violations.extend(d);
        Ok(Self::longest_round(&out.lines))
    }

    fn delay(&mut self, window_ms: u64) -> Duration {
        Duration::from_millis(self.rng.u64(0..=window_ms.max(1)))
    }

    fn kill_push(&mut self, report: &mut OpReport) -> Result<()> {
        // Calibrate: the longest of two unkilled rounds.
        let a = self.args(Op::Push, &self.writer.clone(), 2, self.cfg.changes);
        let out = self.run(&a, None)?;
        let scan = checks::scan_cache(&self.writer)?;
        self.settle_writer(&out.lines, &scan);
        report.window_ms = (2 * Self::longest_round(&out.lines)).max(20);
        for i in 0..self.cfg.kills {
            let args = self.args(Op::Push, &self.writer.clone(), 0, self.cfg.changes);
            let delay = self.delay(report.window_ms);
            eprintln!(
                "[crash {}] push kill {i}: after {delay:?} (child seed {})",
                self.remote.backend().name(),
                args.seed
            );
            let out = self.run(&args, Some(delay))?;
            report.kills += 1;
            report.finished_before_kill += usize::from(out.finished_early);
            let (scan, newer, orphans) = self.after_kill("push", &self.writer.clone())?;
            self.settle_writer(&out.lines, &scan);
            report.temps_left += scan.temps.len();
            report.index_newer_than_listed += newer;
            report.orphans_max = report.orphans_max.max(orphans);
            report.index_mutex_left += age_index_mutexes(self.remote)?;
            // A fresh process resumes from the persisted dirty marks alone.
            self.writer_round(0)?;
            self.index_matches_writer(&format!("after push kill {i} and a converging push"))?;
            let reader = self.reader.clone();
            self.converge_reader(Op::Pull, &reader, &format!("after push kill {i}"))?;
        }
        Ok(())
    }

    fn kill_reader(&mut self, op: Op, report: &mut OpReport) -> Result<()> {
        let cache = match op {
            Op::Pull => self.reader.clone(),
            _ => self.hydrator.clone(),
        };
        // Calibrate on an unkilled round after a remote change; then on
        // each converging round (the same work: the changes of one or two
        // writer rounds).
        self.writer_round(self.cfg.changes)?;
        let a = self.args(op, &cache, 1, 0);
        let out = self.run(&a, None)?;
        let mut window = Self::longest_round(&out.lines).max(10);
        for i in 0..self.cfg.kills {
            report.window_ms = report.window_ms.max(window);
            self.writer_round(self.cfg.changes)?;
            let args = self.args(op, &cache, 1, 0);
            let delay = self.delay(window);
            eprintln!(
                "[crash {}] {} kill {i}: after {delay:?}",
                self.remote.backend().name(),
                op.name()
            );
            let out = self.run(&args, Some(delay))?;
            report.kills += 1;
            report.finished_before_kill += usize::from(out.finished_early);
            let (scan, newer, orphans) = self.after_kill(op.name(), &cache)?;
            report.temps_left += scan.temps.len();
            report.index_newer_than_listed += newer;
            report.orphans_max = report.orphans_max.max(orphans);
            // The remote moves on before the reader's next sync: a killed
            // sync must not make later remote changes look like local edits.
            self.writer_round(self.cfg.changes)?;
            self.index_matches_writer(&format!("after {} kill {i}", op.name()))?;
            window = self
                .converge_reader(op, &cache, &format!("after {} kill {i}", op.name()))?
                .max(10);
        }
        Ok(())
    }
}

/// A push killed while it held the fs share's index mutex
/// (`[{ns}/]_index/.lock`, held for the few milliseconds of an index
/// compare-and-swap) leaves it behind. Writers on other machines cannot tell
/// a dead holder from a slow one, so fs-datastore takes a mutex over only
/// once it is 30 s old (`MUTEX_STALE` in `guest/fs/core/src/remote.rs`);
/// until then pushes fail with a clear `unavailable`. Rather than wait, the
/// scenario ages such a mutex by 60 s, as the passing of time would, and the
/// converging push must then take it over. Returns how many it aged.
fn age_index_mutexes(remote: &Remote) -> Result<usize> {
    let Some(share) = remote.share() else {
        return Ok(0);
    };
    let mut n = 0;
    for rel in checks::files_below(share)? {
        if rel == "_index/.lock" || rel.ends_with("/_index/.lock") {
            let old = std::time::SystemTime::now() - Duration::from_secs(60);
            std::fs::File::options()
                .write(true)
                .open(share.join(&rel))?
                .set_modified(old)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Run the crash scenario on `remote`.
pub fn run(remote: &Remote, cfg: &CrashConfig) -> Result<CrashReport> {
    let t = Instant::now();
    let root = remote.scratch().join("crash");
    std::fs::create_dir_all(&root)?;
    let compile_cache = remote.scratch().join("compiled");
    let base = ChildArgs {
        op: Op::Push,
        config: remote.config(true).to_string(),
        wasm: remote.wasm()?,
        compile_cache,
        cache: PathBuf::new(),
        repo: PathBuf::new(),
        seed: 0,
        files: cfg.files,
        rounds: 1,
        changes: cfg.changes,
    };
    let mut sc = Scenario {
        remote,
        cfg,
        base,
        writer: root.join("writer"),
        reader: root.join("reader"),
        hydrator: root.join("hydrator"),
        rng: fastrand::Rng::with_seed(cfg.seed),
        spawned: 0,
        expected: BTreeMap::new(),
        violations: Vec::new(),
    };
    // Every file at generation 1, pushed; both readers in step.
    sc.writer_round(cfg.files)?;
    sc.index_matches_writer("after the first push")?;
    let (reader, hydrator) = (sc.reader.clone(), sc.hydrator.clone());
    sc.converge_reader(Op::Pull, &reader, "after the first pull")?;
    sc.converge_reader(Op::Hydrate, &hydrator, "after the first hydrate")?;

    let mut ops = Vec::new();
    for &op in &cfg.ops {
        let mut report = OpReport {
            op: op.name().into(),
            ..OpReport::default()
        };
        let started = Instant::now();
        match op {
            Op::Push => sc.kill_push(&mut report)?,
            Op::Pull | Op::Hydrate => sc.kill_reader(op, &mut report)?,
        }
        report.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        ops.push(report);
    }
    if sc.violations.is_empty() && sc.expected.values().all(Option::is_none) {
        return Err(anyhow!(
            "the writer's tree ended empty: the scenario edited nothing"
        ));
    }
    Ok(CrashReport {
        backend: remote.backend().name().into(),
        seed: cfg.seed,
        files: cfg.files,
        ops,
        violations: sc.violations,
        wall_ms: t.elapsed().as_secs_f64() * 1000.0,
    })
}
