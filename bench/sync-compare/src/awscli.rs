//! `aws s3 sync` from the awscli PyPI package: installed once into a venv
//! under `target/tools/awscli` (pinned), run with credentials in the
//! environment and an isolated config file (never the user's `~/.aws`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The pinned awscli release.
pub const AWSCLI_VERSION: &str = "1.46.3";

/// The `aws` executable of the venv, installed when missing.
pub fn install(target_dir: &Path) -> Result<PathBuf> {
    let venv = target_dir.join("tools").join("awscli");
    let aws = venv.join("bin").join("aws");
    let stamp = venv.join(format!(".installed-{AWSCLI_VERSION}"));
    if aws.is_file() && stamp.is_file() {
        return Ok(aws);
    }
    let run = |cmd: &mut Command, what: &str| -> Result<()> {
        let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
        if !out.status.success() {
            bail!(
                "{what} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    )?;
    run(
        Command::new(venv.join("bin").join("python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            &format!("awscli=={AWSCLI_VERSION}"),
        ]),
        "pip install awscli",
    )?;
    if !aws.is_file() {
        bail!("pip installed awscli but {} is missing", aws.display());
    }
    std::fs::write(&stamp, AWSCLI_VERSION)?;
    Ok(aws)
}

/// An `aws` command line bound to one endpoint and one key pair.
pub struct Aws {
    pub bin: PathBuf,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// Directory holding the isolated config and credentials files.
    pub home: PathBuf,
}

impl Aws {
    /// Write the isolated config: `concurrency` requests in flight
    /// (`max_concurrent_requests`), path-style addressing.
    pub fn configure(&self, concurrency: usize) -> Result<()> {
        std::fs::create_dir_all(&self.home)?;
        std::fs::write(
            self.home.join("config"),
            format!(
                "[default]\nregion = {}\ns3 =\n    max_concurrent_requests = {concurrency}\n    addressing_style = path\n",
                self.region
            ),
        )?;
        std::fs::write(self.home.join("credentials"), "")?;
        Ok(())
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", self.home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.home.join("credentials"))
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env("AWS_DEFAULT_REGION", &self.region)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }

    /// Time of `aws --version`: the interpreter's start-up, which every
    /// `aws s3 sync` timing includes.
    pub fn startup(&self) -> Result<Duration> {
        let t = Instant::now();
        let out = self.command().arg("--version").output()?;
        if !out.status.success() {
            bail!(
                "aws --version failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(t.elapsed())
    }

    /// Run `aws s3 sync from to` and time it.
    pub fn sync(&self, from: &str, to: &str) -> Result<Duration> {
        let t = Instant::now();
        let out = self
            .command()
            .args(["--endpoint-url", &self.endpoint, "s3", "sync", from, to])
            .arg("--only-show-errors")
            .output()
            .context("cannot run aws s3 sync")?;
        let took = t.elapsed();
        if !out.status.success() {
            bail!(
                "aws s3 sync {from} {to} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(took)
    }
}
