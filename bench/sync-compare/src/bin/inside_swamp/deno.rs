//! The sides that run under Deno: the packaged extension
//! (`deno/extension_rounds.ts`, native or portable path) and the plain
//! `fetch` script (`deno/plain_fetch.ts`). Each run is a fresh Deno
//! process; only the calls inside it are timed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::scenario::{Target, Times};

fn script(name: &str) -> PathBuf {
    host_harness::bundled::workspace_root()
        .join("bench/sync-compare/deno")
        .join(name)
}

fn run(deno: &Path, mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {} for {what}", deno.display()))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .last()
        .map(str::to_string)
        .with_context(|| format!("{what} printed nothing"))
}

fn deno_command(deno: &Path, t: &Target<'_>) -> Command {
    let mut cmd = Command::new(deno);
    cmd.args(["run", "--allow-all", "--no-prompt", "--no-config"])
        .env("NO_COLOR", "1")
        .env("BENCH_ENDPOINT", t.endpoint)
        .env("BENCH_BUCKET", t.bucket)
        .env("BENCH_REGION", t.region)
        .env("BENCH_PREFIX", &t.prefix)
        .env("BENCH_CONCURRENCY", t.concurrency.to_string())
        .env("AWS_ACCESS_KEY_ID", t.access_key)
        .env("AWS_SECRET_ACCESS_KEY", t.secret_key)
        .env_remove("AWS_SESSION_TOKEN");
    cmd
}

/// The packaged extension in `ext` on `backend` (`native` or `portable`).
#[allow(clippy::too_many_arguments)]
pub fn extension(
    deno: &Path,
    ext: &Path,
    backend: &str,
    cache_home: &Path,
    t: &Target<'_>,
    source: &Path,
    cache_a: &Path,
    cache_b: &Path,
    files: usize,
) -> Result<Times> {
    let mut cmd = deno_command(deno, t);
    cmd.arg(script("extension_rounds.ts"))
        .arg(ext)
        .env("SWAMP_WASM_BACKEND", backend)
        .env("XDG_CACHE_HOME", cache_home)
        .env("BENCH_FILES", files.to_string())
        .env("BENCH_SOURCE", source)
        .env("BENCH_CACHE_A", cache_a)
        .env("BENCH_CACHE_B", cache_b);
    let line = run(deno, cmd, &format!("the packaged extension ({backend})"))?;
    serde_json::from_str(&line).with_context(|| format!("extension_rounds.ts printed {line:?}"))
}

#[derive(Deserialize)]
struct Took {
    ms: f64,
    files: usize,
}

/// The plain script: push `source`, then pull into the empty `dest`.
pub fn plain_fetch(
    deno: &Path,
    aws4fetch: &Path,
    t: &Target<'_>,
    source: &Path,
    dest: &Path,
    files: usize,
) -> Result<Times> {
    let mut times = Times::default();
    for (mode, dir) in [("push", source), ("pull", dest)] {
        let mut cmd = deno_command(deno, t);
        cmd.arg(script("plain_fetch.ts"))
            .arg(aws4fetch)
            .arg(mode)
            .env("BENCH_DIR", dir);
        let line = run(deno, cmd, &format!("plain fetch {mode}"))?;
        let took: Took = serde_json::from_str(&line)
            .with_context(|| format!("plain_fetch.ts printed {line:?}"))?;
        if took.files != files {
            bail!("plain fetch {mode}: {} files, expected {files}", took.files);
        }
        if mode == "push" {
            times.push = took.ms;
        } else {
            times.pull = took.ms;
        }
    }
    Ok(times)
}
