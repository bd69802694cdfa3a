//! The pinned node tools packaging needs (jco, the WASI preview2 shim,
//! rolldown to bundle ajv, ajv, and Deno for the tests), installed with
//! `npm ci` from the committed `packaging/npm` lock file.

use anyhow::{Context, Result, bail};
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE_JSON: &str = include_str!("../../../packaging/npm/package.json");
const PACKAGE_LOCK: &str = include_str!("../../../packaging/npm/package-lock.json");

/// An installed tools folder (`node_modules` inside).
#[derive(Debug, Clone)]
pub struct Tools {
    root: PathBuf,
}

impl Tools {
    /// `target/tools/npm` of this workspace (`$CARGO_TARGET_DIR/tools/npm`
    /// when set), or `$SWAMP_NPM_TOOLS`.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("SWAMP_NPM_TOOLS") {
            return PathBuf::from(dir);
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join("target")
            });
        target.join("tools").join("npm")
    }

    /// Install the pinned tools into `dir` unless they are already there
    /// at this lock file's versions. Concurrent callers wait on a file
    /// lock, so one of them installs.
    pub fn ensure(dir: &Path) -> Result<Tools> {
        let tools = Tools {
            root: dir.to_path_buf(),
        };
        if tools.installed() {
            return Ok(tools);
        }
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let lock_path = dir.join(".install.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        if tools.installed() {
            return Ok(tools);
        }
        fs::write(dir.join("package.json"), PACKAGE_JSON)?;
        fs::write(dir.join("package-lock.json"), PACKAGE_LOCK)?;
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .output()
            .context("cannot run npm (Node.js and npm are needed to package a component)")?;
        if !out.status.success() {
            bail!(
                "npm ci in {} failed ({}):\n{}{}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        fs::write(tools.stamp(), PACKAGE_LOCK)?;
        Ok(tools)
    }

    /// Written after a successful `npm ci`: the lock file it installed.
    fn stamp(&self) -> PathBuf {
        self.root.join(".installed-lock.json")
    }

    fn installed(&self) -> bool {
        fs::read_to_string(self.stamp()).is_ok_and(|s| s == PACKAGE_LOCK)
            && self.deno().is_file()
            && self.jco().is_file()
    }

    pub fn node_modules(&self) -> PathBuf {
        self.root.join("node_modules")
    }

    /// The folder packages resolve from (holds `node_modules`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn jco(&self) -> PathBuf {
        self.node_modules().join(".bin").join("jco")
    }

    pub fn rolldown(&self) -> PathBuf {
        self.node_modules().join(".bin").join("rolldown")
    }

    /// The Deno binary from `@deno/linux-x64-glibc`.
    pub fn deno(&self) -> PathBuf {
        self.node_modules()
            .join("@deno")
            .join("linux-x64-glibc")
            .join("deno")
    }

    pub fn preview2_shim(&self) -> PathBuf {
        self.node_modules()
            .join("@bytecodealliance")
            .join("preview2-shim")
    }
}
