//! `host-harness`: load a datastore component as a sandboxed plugin, show
//! what it is, and run the conformance suite on it.
//!
//! With no arguments it builds the bundled guests if needed and checks
//! `fs-datastore` on a fresh temporary directory.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// The exit code of a run that stopped on an error (a failed check exits 1).
const EXIT_ERROR: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOST_HARNESS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Args::parse();
    match cli::run(args).await {
        Ok(code) => code,
        Err(error) => {
            // An error the user can act on is a message: its chain of causes
            // on one line each, never a backtrace (returning the error from
            // `main` would print one whenever RUST_BACKTRACE is set).
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
