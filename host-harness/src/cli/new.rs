//! `host-harness new`: its arguments, and the run that writes the crate
//! (`host_harness::scaffold`) and says what to do next.

use anyhow::Result;
use host_harness::scaffold::{self, NewCrate, Sdk};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(super) struct NewArgs {
    /// The crate name (lowercase letters, digits, '-', '_'); also the
    /// datastore's name.
    name: String,
    /// The directory to create (default: ./NAME); it must not exist.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Add a sync service: swamp works in a local cache synced with the
    /// directory.
    #[arg(long)]
    sync: bool,
    /// The swamp-datastore-sdk crate to depend on (default: guest/sdk of
    /// the checkout this host-harness was built from).
    #[arg(long, conflicts_with = "sdk_git")]
    sdk_path: Option<PathBuf>,
    /// Depend on the SDK from this git repository instead.
    #[arg(long)]
    sdk_git: Option<String>,
    /// With --sdk-git: the commit to use.
    #[arg(long, requires = "sdk_git")]
    sdk_rev: Option<String>,
}

/// Write the crate, then say what to do next.
pub(super) fn run(args: NewArgs) -> Result<ExitCode> {
    // Before the name becomes a path.
    scaffold::validate_name(&args.name)?;
    let sdk = match (args.sdk_path, args.sdk_git) {
        (Some(path), _) => Sdk::Path(std::path::absolute(&path)?),
        (None, Some(url)) => Sdk::Git {
            url,
            rev: args.sdk_rev,
        },
        (None, None) => Sdk::Path(scaffold::default_sdk_path()),
    };
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let new = NewCrate {
        name: args.name,
        dir: std::path::absolute(&dir)?,
        sync: args.sync,
        sdk,
        harness: std::env::current_exe().ok(),
    };
    let files = scaffold::create(&new)?;
    println!(
        "created {} ({} files{}) in {}",
        new.name,
        files.len(),
        if new.sync { ", with sync" } else { "" },
        new.dir.display()
    );
    println!("next: cd {} && ./check.sh", new.dir.display());
    Ok(ExitCode::SUCCESS)
}
