//! The process the crash scenario kills: opens the provider and a sync
//! service on one cache and runs push, pull or hydrate rounds, printing a
//! line before and after every step so the parent knows what may have been
//! interrupted.
//!
//! Lines: `ready`; `writing {rel} {gen}` / `wrote {rel} {gen}`;
//! `deleting {rel}` / `deleted {rel}`; `round {n} count={c} ms={t}`; `done`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use swamp_host::{OpenOptions, SyncOptions, SyncService};

use crate::content;

/// What the child does each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// Edit `changes` files (mark-dirty, then write; sometimes delete),
    /// then push. `changes` 0: push only (a converging push).
    Push,
    /// One pull of everything.
    Pull,
    /// A metadata-only pull, then hydrate-file of every content file.
    Hydrate,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Push => "push",
            Op::Pull => "pull",
            Op::Hydrate => "hydrate",
        }
    }
}

/// The child's command line.
#[derive(Debug, Clone, clap::Parser)]
#[command(about = "A sync client for the crash scenario (it expects to be killed)")]
pub struct ChildArgs {
    #[arg(long, value_enum)]
    pub op: Op,
    /// The provider config (JSON).
    #[arg(long)]
    pub config: String,
    /// The component.
    #[arg(long)]
    pub wasm: PathBuf,
    /// Compiled-component cache shared with the parent's other children.
    #[arg(long)]
    pub compile_cache: PathBuf,
    #[arg(long)]
    pub cache: PathBuf,
    #[arg(long)]
    pub repo: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Size of the tree ([`content::tree`]).
    #[arg(long, default_value_t = 24)]
    pub files: usize,
    /// Rounds to run; 0: until killed.
    #[arg(long, default_value_t = 1)]
    pub rounds: u64,
    /// Files edited per push round (all of them, and no deletion, when at
    /// least `files`).
    #[arg(long, default_value_t = 4)]
    pub changes: usize,
}

impl ChildArgs {
    /// The arguments that reproduce `self`.
    pub fn to_args(&self) -> Vec<String> {
        let p = |p: &Path| p.display().to_string();
        vec![
            "--op".into(),
            self.op.name().into(),
            "--config".into(),
            self.config.clone(),
            "--wasm".into(),
            p(&self.wasm),
            "--compile-cache".into(),
            p(&self.compile_cache),
            "--cache".into(),
            p(&self.cache),
            "--repo".into(),
            p(&self.repo),
            "--seed".into(),
            self.seed.to_string(),
            "--files".into(),
            self.files.to_string(),
            "--rounds".into(),
            self.rounds.to_string(),
            "--changes".into(),
            self.changes.to_string(),
        ]
    }
}

fn err(e: swamp_host::HostError) -> anyhow::Error {
    anyhow!("{e}")
}

/// Replace `cache/rel` with `bytes` the way an application would: written
/// in a staging directory beside the cache, then renamed into place (so a
/// kill never leaves a half-written file of ours in the cache).
fn write_file(cache: &Path, staging: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let dest = cache.join(rel);
    std::fs::create_dir_all(dest.parent().unwrap_or(cache))?;
    std::fs::create_dir_all(staging)?;
    let tmp = staging.join(rel.replace('/', "__"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &dest).with_context(|| format!("renaming into {}", dest.display()))
}

/// One round of edits: mark-dirty before each write or deletion (markDirty
/// rule 1), printing before and after.
async fn edit(
    sync: &SyncService,
    args: &ChildArgs,
    rng: &mut fastrand::Rng,
    tree: &[String],
) -> Result<()> {
    let staging = args.cache.with_extension("staging");
    let all = args.changes >= tree.len();
    let mut picks: Vec<&String> = tree.iter().collect();
    if !all {
        rng.shuffle(&mut picks);
        picks.truncate(args.changes);
    }
    for rel in picks {
        let path = args.cache.join(rel);
        let current = match std::fs::read(&path) {
            Ok(b) => Some(content::verify(rel, &b).map_err(|e| anyhow!(e))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).context(format!("reading {}", path.display())),
        };
        sync.mark_dirty(&SyncOptions::rel_path(rel.as_str()))
            .await
            .map_err(err)?;
        if !all && current.is_some() && rng.u8(0..6) == 0 {
            println!("deleting {rel}");
            std::fs::remove_file(&path)?;
            println!("deleted {rel}");
        } else {
            let generation = current.unwrap_or(0) + 1;
            println!("writing {rel} {generation}");
            write_file(&args.cache, &staging, rel, &content::make(rel, generation))?;
            println!("wrote {rel} {generation}");
        }
    }
    Ok(())
}

/// The child's whole life.
pub async fn run(args: ChildArgs) -> Result<()> {
    let config: serde_json::Value =
        serde_json::from_str(&args.config).context("--config is not JSON")?;
    let host = crate::host(&args.compile_cache)?;
    let plugin = host.load(&args.wasm).await.map_err(err)?;
    let provider = plugin
        .open(config, OpenOptions::default())
        .await
        .map_err(err)?;
    std::fs::create_dir_all(&args.repo)?;
    let s = |p: &Path| p.display().to_string();
    let sync = provider
        .create_sync_service(&s(&args.repo), &s(&args.cache))
        .await
        .map_err(err)?
        .ok_or_else(|| anyhow!("this datastore has no sync service"))?;
    let tree = content::tree(args.files);
    let mut rng = fastrand::Rng::with_seed(args.seed);
    println!("ready");
    let mut round = 0u64;
    while args.rounds == 0 || round < args.rounds {
        let t = Instant::now();
        let count = match args.op {
            Op::Push => {
                if args.changes > 0 {
                    edit(&sync, &args, &mut rng, &tree).await?;
                }
                sync.push_changed(&SyncOptions::default())
                    .await
                    .map_err(err)?
            }
            Op::Pull => sync
                .pull_changed(&SyncOptions::default())
                .await
                .map_err(err)?,
            Op::Hydrate => {
                sync.pull_changed(&SyncOptions::metadata_only())
                    .await
                    .map_err(err)?;
                let mut n = 0;
                for rel in tree.iter().filter(|r| r.ends_with("/raw")) {
                    if sync
                        .hydrate_file(rel, &SyncOptions::default())
                        .await
                        .map_err(|e| anyhow!("hydrate {rel}: {e}"))?
                    {
                        n += 1;
                    }
                }
                n
            }
        };
        println!("round {round} count={count} ms={}", t.elapsed().as_millis());
        round += 1;
    }
    println!("done");
    Ok(())
}
