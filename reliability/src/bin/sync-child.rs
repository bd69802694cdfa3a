//! The sync client the crash scenario starts and kills (see
//! `reliability::crash`). Not meant to be run by hand.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = reliability::crash::ChildArgs::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sync-child: cannot start a tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(reliability::crash::child::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-child: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
