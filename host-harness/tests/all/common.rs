//! Helpers shared by the modules of this test binary.

use std::process::{Command, Output};

/// The `host-harness` binary of this crate, as a user runs it.
pub fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host-harness"))
}

/// A command's stdout and stderr, for a failure message.
pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
