//! The linker: exactly the imports of the world `datastore-provider`
//! (wit/world.wit), one line per interface, and nothing else. A component
//! importing anything more (`wasi:sockets`, `wasi:random/insecure`, a
//! newer WASI interface) fails to load with the name of that import,
//! instead of getting an implementation the sandbox never meant to offer.
//!
//! Each WASI interface is added on its own with wasmtime-wasi's
//! per-interface `add_to_linker` (the crate's `add_to_linker_async` adds all
//! of WASI 0.2, sockets included). `swamp-host/tests/all/world.rs`
//! checks this list against the world: a component importing every import
//! of the world loads, and one importing `wasi:sockets/tcp` does not.

use crate::bindings::swamp::datastore::{host_info, types};
use crate::instance::GuestState;
use wasmtime::component::{HasData, HasSelf, Linker, ResourceTable};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random};
use wasmtime_wasi::random::WasiRandom;

/// The world's imports, added to `linker` (async: every guest call is).
pub(crate) fn add_world_imports(l: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    type T = GuestState;
    io::error::add_to_linker::<T, HasTable>(l, |t| t.ctx().table)?;
    io::poll::add_to_linker::<T, HasTable>(l, |t| t.ctx().table)?;
    io::streams::add_to_linker::<T, HasTable>(l, |t| t.ctx().table)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    random::random::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    // wasi:http/types and wasi:http/outgoing-handler, nothing more.
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?;
    types::add_to_linker::<T, HasSelf<T>>(l, |s| s)?;
    host_info::add_to_linker::<T, HasSelf<T>>(l, |s| s)?;
    Ok(())
}

/// wasi:io's host functions work on the store's resource table alone.
struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}
