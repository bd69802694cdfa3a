//! `make bench`: the benchmarks (figures a, b, c, e, f, g of README.md's
//! Benchmarks section; d and h are in `bench/sync-compare`) and the report
//! that merges every figure.
//!
//! ```text
//! bench run [--quick] [--only a,b,c,e,f,g]   # write bench/results/parts/<figure>.json
//! bench report                               # merge into latest.{json,md,svg} and README.md
//! ```
//!
//! `--quick` shrinks sizes and iteration counts to smoke-test the harness;
//! its numbers are not the published ones.

mod figures;
mod fragment;
mod measure;
mod report;
mod setup;

use anyhow::{Result, bail};
use fragment::Fragment;
use setup::Run;
use std::path::PathBuf;

const ALL: &[&str] = &["a", "b", "c", "e", "f", "g"];
/// The order figures run in: g before e, so that g's peak resident set of
/// the process is not hidden by e's larger one.
const ORDER: &[&str] = &["a", "b", "c", "g", "e", "f"];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is inside the workspace")
        .to_path_buf()
}

async fn figure(run: &Run, which: &str) -> Result<Vec<Fragment>> {
    Ok(match which {
        "a" => vec![figures::call_overhead::run(run).await?],
        "b" => vec![figures::loading::run(run).await?],
        "c" => vec![figures::lock_latency::run(run).await?],
        // e and f share one expensive set-up.
        "e" => figures::index_scale::run(run).await?,
        "g" => vec![figures::big_file::run(run).await?],
        other => bail!("unknown figure {other:?}"),
    })
}

async fn run_figures(run: &Run, only: &[String]) -> Result<()> {
    let mut todo: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|f| only.is_empty() || only.iter().any(|o| o == f))
        .map(|f| if f == "f" { "e" } else { f })
        .collect();
    todo.dedup();
    let mut failed = Vec::new();
    for which in todo {
        eprintln!("bench: figure {which}");
        // A figure that fails must not leave last run's numbers behind.
        for letter in if which == "e" {
            vec!["e", "f"]
        } else {
            vec![which]
        } {
            let _ = std::fs::remove_file(Fragment::path(&run.results, letter));
        }
        match figure(run, which).await {
            Ok(fragments) => {
                let measured = time::OffsetDateTime::now_utc().format(
                    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"),
                )?;
                for mut f in fragments {
                    f.measured = Some(measured.clone());
                    let path = f.write(&run.results)?;
                    eprintln!("bench: wrote {}", path.display());
                    for c in &f.comparisons {
                        eprintln!(
                            "  {}: {} = {:.3} (target {}, met {:?})",
                            f.figure, c.name, c.ratio, c.target, c.met
                        );
                    }
                }
            }
            Err(e) => {
                eprintln!("bench: figure {which} failed: {e:#}");
                failed.push(which);
            }
        }
    }
    if !failed.is_empty() {
        bail!("figures {} failed", failed.join(", "));
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    // `RUST_LOG=swamp_host::http_client=debug` prints every guest request
    // with its time to the response headers (the server's share).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let results = workspace().join("bench").join("results");
    match args.first().map(String::as_str) {
        Some("run") => {
            let mut quick = false;
            let mut only = Vec::new();
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--quick" => quick = true,
                    "--only" => match rest.next() {
                        Some(list) => only.extend(list.split(',').map(|s| s.trim().to_string())),
                        None => bail!("--only needs a list of figures, e.g. --only a,b"),
                    },
                    other => bail!("unknown option {other:?} (known: --quick, --only LIST)"),
                }
            }
            if let Some(bad) = only.iter().find(|o| !ALL.contains(&o.as_str())) {
                bail!("unknown figure {bad:?}; figures are {}", ALL.join(", "));
            }
            run_figures(&Run { results, quick }, &only).await
        }
        Some("report") => {
            let date = time::OffsetDateTime::now_utc().format(
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"),
            )?;
            report::write(
                &results,
                &workspace().join("README.md"),
                &setup::machine(),
                &date,
            )?;
            eprintln!(
                "bench: wrote {}/latest.{{json,md,svg}} and the README section",
                results.display()
            );
            Ok(())
        }
        _ => bail!("usage: bench run [--quick] [--only a,b,c,e,f,g] | bench report"),
    }
}
