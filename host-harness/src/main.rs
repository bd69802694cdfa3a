//! `host-harness`: load a datastore component as a sandboxed plugin, show
//! what it is, and run the conformance suite on it.
//!
//! With no arguments it builds the bundled guests if needed and checks
//! `fs-datastore` on a fresh temporary directory.

mod cli;

use anyhow::Result;
use clap::Parser;

#[tokio::main]
async fn main() -> Result<std::process::ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOST_HARNESS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Args::parse();
    cli::run(args).await
}
