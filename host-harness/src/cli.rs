//! Command-line interface: `inspect`, `check`, `list-checks`, `package`,
//! `new` (in `cli/new.rs`), and the default run.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use conformance::{Filter, Format, Report, Subject, Suite};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use swamp_host::{Host, HostOptions, OpenOptions};

mod new;

#[derive(Parser)]
#[command(
    name = "host-harness",
    version,
    about = "Load swamp datastore components as sandboxed plugins and check them"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print a component's type, name, description, config schema, sandbox
    /// annotations and (given a config) its provider features and sync
    /// capabilities.
    Inspect {
        /// Path to the component (.wasm).
        component: PathBuf,
        /// A config to open the provider with: JSON text or @file.
        #[arg(long)]
        config: Option<String>,
    },
    /// Run the conformance suite on a component; exits non-zero when any
    /// check fails.
    Check(CheckArgs),
    /// Print the list of checks as a markdown table (the README's list is
    /// generated with this).
    ListChecks,
    /// Package a component as a swamp (Deno) datastore extension folder:
    /// manifest.yaml and extensions/datastores/{name}.ts over the component
    /// transpiled with jco. Installs the pinned node tools on first use.
    Package {
        /// Path to the component (.wasm).
        component: PathBuf,
        /// The extension folder to write (created or updated).
        #[arg(long)]
        out: PathBuf,
        /// Where the pinned node tools live (default: target/tools/npm).
        #[arg(long)]
        tools: Option<PathBuf>,
        /// The swamp-host-ffi library to embed for the native path
        /// (default: the one beside this executable, built by
        /// `cargo build -p swamp-host-ffi`).
        #[arg(long, conflicts_with = "portable_only")]
        native_lib: Option<PathBuf>,
        /// Embed no native library: the extension runs the portable path
        /// everywhere.
        #[arg(long)]
        portable_only: bool,
    },
    /// Write a new datastore crate that builds to a component and passes
    /// `check` as written: a provider, a lock on the SDK's lock engine and
    /// a verifier over a directory from its config (with --sync also a
    /// sync service on the SDK's sync engine), a README and check.sh.
    New(new::NewArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Path to the component (.wasm).
    component: PathBuf,
    /// The config to check with: JSON text or @file.
    #[arg(long)]
    config: String,
    /// The repository directory handed to the provider (default: a
    /// temporary directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "human", value_parser = parse_format)]
    format: Format,
    /// More configs the component must accept (JSON or @file), repeatable.
    #[arg(long = "valid-config")]
    valid_configs: Vec<String>,
    /// Configs the component must reject (JSON or @file), repeatable.
    #[arg(long = "invalid-config")]
    invalid_configs: Vec<String>,
    /// Configs whose datastore is missing or unwritable, on which the
    /// verifier must report unhealthy (JSON or @file), repeatable.
    #[arg(long = "unhealthy-config")]
    unhealthy_configs: Vec<String>,
    /// The string config field the suite extends per check to give each
    /// check an empty datastore (default: the schema's only x-swamp-mount
    /// field, else `path`, else `prefix`).
    #[arg(long)]
    isolate_by: Option<String>,
    /// Run only these suites (export, config, lock, verifier, sync, shared).
    #[arg(long = "suite", value_parser = parse_suite)]
    suites: Vec<Suite>,
    /// Run only checks with these ids.
    #[arg(long = "check")]
    ids: Vec<String>,
    /// Also fail (exit 1) when a check was skipped for want of an input
    /// this command could have given (its reason starts with "needs
    /// input:" and names the flag).
    #[arg(long)]
    strict: bool,
    /// The seed of the generated trees (default: a new one each run, printed
    /// on stderr); a failing generated check names its seed.
    #[arg(long)]
    seed: Option<u64>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse().map_err(|e| format!("{e}"))
}

fn parse_suite(s: &str) -> Result<Suite, String> {
    s.parse().map_err(|e| format!("{e}"))
}

pub async fn run(args: Args) -> Result<ExitCode> {
    // Made only by the commands that load a component.
    let host = || Host::new(HostOptions::default());
    match args.command {
        Some(Command::Inspect { component, config }) => inspect(&host()?, &component, config).await,
        Some(Command::Check(check)) => run_check(&host()?, check).await,
        Some(Command::Package {
            component,
            out,
            tools,
            native_lib,
            portable_only,
        }) => {
            use host_harness::package::{NativeLibrary, default_native_library};
            let tools = host_harness::package::Tools::ensure(
                &tools.unwrap_or_else(host_harness::package::Tools::default_dir),
            )?;
            let native = match (native_lib, portable_only) {
                (_, true) => None,
                (Some(path), false) => {
                    if !path.is_file() {
                        anyhow::bail!("--native-lib {}: no such file", path.display());
                    }
                    Some(NativeLibrary::for_this_machine(path))
                }
                (None, false) => {
                    let found = default_native_library();
                    if found.is_none() {
                        eprintln!(
                            "note: no swamp-host-ffi library beside host-harness (cargo build -p swamp-host-ffi); \
                             the extension gets the portable path only"
                        );
                    }
                    found
                }
            };
            let done =
                host_harness::package::package(&component, &out, &tools, native.as_ref()).await?;
            println!(
                "packaged {} as {} (listed in {}; {})",
                done.datastore_type,
                done.module.display(),
                done.manifest.display(),
                match &native {
                    Some(n) => format!("native path for {}, portable elsewhere", n.platform),
                    None => "portable path only".to_string(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::New(args)) => new::run(args),
        Some(Command::ListChecks) => {
            print!("{}", conformance::catalogue_markdown());
            Ok(ExitCode::SUCCESS)
        }
        None => default_run(&host()?).await,
    }
}

/// JSON text, or `@path` to read it from a file.
fn read_json(arg: &str) -> Result<Value> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {path}"))?,
        None => arg.to_string(),
    };
    serde_json::from_str(&text).with_context(|| format!("config is not valid JSON: {arg}"))
}

async fn inspect(host: &Host, component: &Path, config: Option<String>) -> Result<ExitCode> {
    let plugin = host.load(component).await?;
    let info = plugin.info();
    let schema = plugin.schema();
    println!("type:        {}", info.datastore_type);
    println!("name:        {}", info.name);
    println!("description: {}", info.description);
    println!("config schema:\n{}", serde_json::to_string_pretty(schema)?);
    let annotated = |kw: &str| -> Vec<String> {
        schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| {
                p.iter()
                    .filter(|(_, v)| v.get(kw).and_then(Value::as_bool) == Some(true))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    println!("sandbox:");
    println!(
        "  mounts (config fields):    {:?}",
        annotated(swamp_host::sandbox::MOUNT_KEYWORD)
    );
    println!(
        "  endpoints (config fields): {:?}",
        annotated(swamp_host::sandbox::ENDPOINT_KEYWORD)
    );
    let env: Vec<&str> = schema
        .get(swamp_host::sandbox::ENV_KEYWORD)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!("  environment variables:     {env:?}");
    println!(
        "interfaces: {}",
        if plugin.has_shared_store() {
            "WIT 0.1.1 (with shared-store)"
        } else {
            "WIT 0.1.0 (no shared-store: no control plane, catalogs or contamination repair)"
        }
    );
    let Some(config) = config else {
        println!("capabilities: (pass --config to open a provider and list them)");
        return Ok(ExitCode::SUCCESS);
    };
    let config = read_json(&config)?;
    let provider = plugin.open(config, OpenOptions::default()).await?;
    let features = provider.features().await?;
    println!("provider features: {}", serde_json::to_string(&features)?);
    if features.sync {
        let scratch = tempfile::tempdir()?;
        let cache = scratch.path().join("cache");
        let repo = scratch.path().join("repo");
        std::fs::create_dir_all(&repo)?;
        match provider
            .create_sync_service(path_str(&repo)?, path_str(&cache)?)
            .await?
        {
            Some(sync) => {
                println!(
                    "sync capabilities: {}",
                    serde_json::to_string(&sync.capabilities().await?)?
                );
                println!(
                    "shared features: {}",
                    serde_json::to_string(&sync.shared_features().await?)?
                );
            }
            None => println!("sync capabilities: (no sync service)"),
        }
    } else {
        println!("sync capabilities: (no sync service)");
    }
    Ok(ExitCode::SUCCESS)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}

async fn run_check(host: &Host, args: CheckArgs) -> Result<ExitCode> {
    let plugin = host.load(&args.component).await?;
    let workdir = tempfile::tempdir()?;
    let mut subject = Subject::new(
        plugin,
        read_json(&args.config)?,
        workdir.path().to_path_buf(),
    );
    if let Some(repo) = args.repo {
        subject.repo_dir = Some(repo);
    }
    for c in &args.valid_configs {
        subject.valid_configs.push(read_json(c)?);
    }
    for c in &args.invalid_configs {
        subject.invalid_configs.push(read_json(c)?);
    }
    for (i, c) in args.unhealthy_configs.iter().enumerate() {
        subject
            .unhealthy_configs
            .push((format!("unhealthy-config-{}", i + 1), read_json(c)?));
    }
    if args.isolate_by.is_some() {
        subject.isolate_by = args.isolate_by;
    }
    if let Some(seed) = args.seed {
        subject.seed = seed;
    }
    eprintln!(
        "seed: {} (replay this run's generated trees with --seed {0})",
        subject.seed
    );
    let filter = Filter {
        suites: args.suites,
        ids: args.ids,
    };
    let report = conformance::run(&subject, &filter).await;
    print!("{}", report.render(args.format));
    Ok(exit_code(&report, args.strict))
}

fn exit_code(report: &Report, strict: bool) -> ExitCode {
    let wanting = report.needing_input();
    if strict && !wanting.is_empty() {
        eprintln!(
            "--strict: {} check(s) skipped for want of an input: {}",
            wanting.len(),
            wanting.join(", ")
        );
        return ExitCode::FAILURE;
    }
    if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Build the bundled guests if needed, then check `fs-datastore` on a fresh
/// temporary directory: once as a plain datastore, once in cache mode.
async fn default_run(host: &Host) -> Result<ExitCode> {
    host_harness::bundled::ensure_wasm_target().map_err(anyhow::Error::msg)?;
    eprintln!(
        "building the bundled guests (cargo build --release --target wasm32-wasip2; \
         the first time about 2 minutes on 2 cores, then seconds) ..."
    );
    let wasm = host_harness::bundled::guest("fs-datastore").map_err(anyhow::Error::msg)?;
    let plugin = host.load(&wasm).await?;
    let mut failed = 0;
    for (label, cache) in [("local disk", false), ("network share with a cache", true)] {
        let workdir = tempfile::tempdir()?;
        let subject = conformance::fs_subject::subject(plugin.clone(), workdir.path(), cache)?;
        println!("== fs-datastore ({label}) in {}", workdir.path().display());
        let report = conformance::run(&subject, &Filter::default()).await;
        print!("{}", report.render(Format::Human));
        failed += report.failed();
    }
    if failed > 0 {
        eprintln!("{failed} check(s) failed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
