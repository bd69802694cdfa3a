//! The bindings generated from `wit/`. Authors never name anything in here:
//! the SDK's traits, types and [`crate::export_datastore!`] stand in front.
//!
//! The WIT is read from `guest/sdk/wit`, a symlink to the repository's
//! `wit/`, so that the crate's package carries it (`cargo package` follows
//! the link and stores the files) and a crate depending on the SDK from a
//! registry or a git checkout builds. The alternatives were worse: a copy
//! under the crate is a second source every WIT change must reach (a test
//! would only notice the drift), a build script runs when the crate is
//! built, not when it is packaged, and `include` cannot reach above the
//! crate directory. A symlink needs a checkout that keeps symlinks, which
//! this repository already assumes (its Makefile and scripts/ need a Unix
//! shell). `scripts/package-check.sh` shows the packaged WIT equals `wit/`.

// The world's WASI imports (wit/world.wit) are the `wasip2` crate's, which
// the SDK already calls for WASI (src/io_error.rs, src/write_file.rs): one
// copy of the WASI bindings, not a second one generated here.
wit_bindgen::generate!({
    world: "datastore-provider",
    path: "wit",
    pub_export_macro: true,
    default_bindings_module: "swamp_datastore_sdk::bindings",
    with: {
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
        "wasi:random/random@0.2.12": wasip2::random::random,
        "wasi:random/insecure-seed@0.2.12": wasip2::random::insecure_seed,
        "wasi:filesystem/types@0.2.12": wasip2::filesystem::types,
        "wasi:filesystem/preopens@0.2.12": wasip2::filesystem::preopens,
        "wasi:cli/environment@0.2.12": wasip2::cli::environment,
        "wasi:cli/exit@0.2.12": wasip2::cli::exit,
        "wasi:cli/stdin@0.2.12": wasip2::cli::stdin,
        "wasi:cli/stdout@0.2.12": wasip2::cli::stdout,
        "wasi:cli/stderr@0.2.12": wasip2::cli::stderr,
        "wasi:cli/terminal-input@0.2.12": wasip2::cli::terminal_input,
        "wasi:cli/terminal-output@0.2.12": wasip2::cli::terminal_output,
        "wasi:cli/terminal-stdin@0.2.12": wasip2::cli::terminal_stdin,
        "wasi:cli/terminal-stdout@0.2.12": wasip2::cli::terminal_stdout,
        "wasi:cli/terminal-stderr@0.2.12": wasip2::cli::terminal_stderr,
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
    },
});
