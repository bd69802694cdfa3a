//! `make stress`: the reliability scenarios at full size on both backends,
//! with their figures printed as a markdown table and written as JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use reliability::contention::{self, ContentionConfig, ContentionReport};
use reliability::crash::{self, CrashConfig, CrashReport, Op};
use reliability::fencing::{self, FencingReport};
use reliability::{Backend, Remote};
use seaweedfs_fixture::SeaweedFs;

#[derive(Debug, Parser)]
#[command(about = "Lock contention, pauses/fencing and crash consistency at full size")]
struct Args {
    /// Backends to run on (default: both).
    #[arg(long, value_enum)]
    backend: Vec<Backend>,
    /// Contention: host threads.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Contention: critical sections per thread.
    #[arg(long, default_value_t = 500)]
    sections: usize,
    /// Crash: kills per operation (push, pull, hydrate).
    #[arg(long, default_value_t = 100)]
    kills: usize,
    /// Crash: files in the tree.
    #[arg(long, default_value_t = 24)]
    files: usize,
    /// Seed of the crash scenario's kill points and edits.
    #[arg(long, default_value_t = 0x5eed_5eed)]
    seed: u64,
    #[arg(long)]
    skip_contention: bool,
    #[arg(long)]
    skip_fencing: bool,
    #[arg(long)]
    skip_crash: bool,
    /// Where the JSON figures go.
    #[arg(long, default_value = "reliability/results/stress-latest.json")]
    out: PathBuf,
}

#[derive(Debug, Default, serde::Serialize)]
struct Figures {
    contention: Vec<ContentionReport>,
    fencing: Vec<FencingReport>,
    crash: Vec<CrashReport>,
    wall_s: f64,
}

fn sync_child() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let child = exe
        .parent()
        .map(|d| d.join("sync-child"))
        .context("no directory around this binary")?;
    if !child.is_file() {
        bail!(
            "{} is missing: build it with `cargo build -p reliability --bins`",
            child.display()
        );
    }
    Ok(child)
}

fn table(f: &Figures) -> String {
    let mut t = String::new();
    if !f.contention.is_empty() {
        t.push_str("| backend | threads × sections | critical sections | overlaps | final count | lost locks | wall | sections/s | acquire p50 | acquire p99 | acquire max |\n");
        t.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for c in &f.contention {
            t.push_str(&format!(
                "| {} | {} × {} | {} | {} | {} | {} | {:.1} s | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |\n",
                c.backend,
                c.workers,
                c.sections_per_worker,
                c.total_sections,
                c.overlaps,
                c.final_count,
                c.lost_locks,
                c.wall_ms / 1000.0,
                c.sections_per_s,
                c.acquire_p50_ms,
                c.acquire_p99_ms,
                c.acquire_max_ms
            ));
        }
        t.push('\n');
    }
    if !f.fencing.is_empty() {
        t.push_str("| backend | frozen holder's TTL | taken over after | resumed heartbeat | release kept successor |\n");
        t.push_str("| --- | --- | --- | --- | --- |\n");
        for x in &f.fencing {
            t.push_str(&format!(
                "| {} | {} ms | {:.0} ms | {} | yes |\n",
                x.backend, x.ttl_ms, x.takeover_after_ms, x.heartbeat_error_kind
            ));
        }
        t.push('\n');
    }
    if !f.crash.is_empty() {
        t.push_str("| backend | op | kills | finished before kill | kill window | temps left | index entries newer than listed | orphans (max) | fs index mutex aged | violations | wall |\n");
        t.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for c in &f.crash {
            for o in &c.ops {
                t.push_str(&format!(
                    "| {} | {} | {} | {} | {} ms | {} | {} | {} | {} | {} | {:.1} s |\n",
                    c.backend,
                    o.op,
                    o.kills,
                    o.finished_before_kill,
                    o.window_ms,
                    o.temps_left,
                    o.index_newer_than_listed,
                    o.orphans_max.map_or("-".into(), |n| n.to_string()),
                    o.index_mutex_left,
                    c.violations.len(),
                    o.wall_ms / 1000.0
                ));
            }
        }
    }
    t
}

fn main() -> Result<()> {
    let args = Args::parse();
    let backends = if args.backend.is_empty() {
        vec![Backend::Fs, Backend::S3]
    } else {
        args.backend.clone()
    };
    let t = Instant::now();
    let s3 = if backends.contains(&Backend::S3) {
        Some(Arc::new(SeaweedFs::try_start().map_err(|e| anyhow!(e))?))
    } else {
        None
    };
    let remote = |b: Backend, prefix: &str| -> Result<Remote> {
        match (b, &s3) {
            (Backend::Fs, _) => Remote::fs(),
            (Backend::S3, Some(s)) => Remote::s3(s.clone(), "stress", prefix),
            (Backend::S3, None) => bail!("no SeaweedFS"),
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut figures = Figures::default();
    let mut failed = Vec::new();
    for &b in &backends {
        if !args.skip_contention {
            eprintln!(
                "[stress {}] contention {} × {}",
                b.name(),
                args.workers,
                args.sections
            );
            let r = contention::run(
                &remote(b, "contention")?,
                &ContentionConfig::new(args.workers, args.sections),
            )?;
            let n = (args.workers * args.sections) as u64;
            if r.overlaps != 0 || r.final_count != n || r.total_sections != n || r.lost_locks != 0 {
                failed.push(format!("contention on {}: {r:?}", b.name()));
            }
            figures.contention.push(r);
        }
        if !args.skip_fencing {
            eprintln!("[stress {}] fencing", b.name());
            let ttl = if b == Backend::S3 { 1_500 } else { 1_000 };
            match rt.block_on(fencing::run(&remote(b, "fencing")?, ttl)) {
                Ok(r) => figures.fencing.push(r),
                Err(e) => failed.push(format!("fencing on {}: {e:#}", b.name())),
            }
        }
        if !args.skip_crash {
            eprintln!("[stress {}] crash, {} kills per op", b.name(), args.kills);
            let r = crash::run(
                &remote(b, "crash")?,
                &CrashConfig {
                    child: sync_child()?,
                    kills: args.kills,
                    ops: vec![Op::Push, Op::Pull, Op::Hydrate],
                    files: args.files,
                    changes: 6,
                    seed: args.seed,
                },
            )?;
            if !r.violations.is_empty() {
                failed.push(format!(
                    "crash on {}: {} violations:\n{}",
                    b.name(),
                    r.violations.len(),
                    r.violations.join("\n")
                ));
            }
            figures.crash.push(r);
        }
    }
    figures.wall_s = t.elapsed().as_secs_f64();
    println!("{}", table(&figures));
    println!("total wall time: {:.1} s", figures.wall_s);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&figures)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("figures written to {}", args.out.display());
    if !failed.is_empty() {
        bail!(
            "{} scenario(s) failed:\n{}",
            failed.len(),
            failed.join("\n\n")
        );
    }
    Ok(())
}
