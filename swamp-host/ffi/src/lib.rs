//! swamp-host behind a C ABI: the native path of a packaged swamp
//! extension. `packaging/js/native.ts` opens this library with
//! `Deno.dlopen` and drives the component through the same wasmtime
//! embedding `host-harness` uses, so the extension inside swamp has the
//! same walls (memory limit, call deadlines, allow-lists) and the same
//! speed as the host here.
//!
//! The ABI is two functions. [`swamp_ffi_call`] takes one JSON request
//! `{"op": "...", "id": handle, ...arguments}` and returns a NUL-terminated
//! JSON reply, `{"ok": value}` or `{"error": {"kind", "message", ...}}`,
//! which the caller hands back to [`swamp_ffi_free`]. JSON rather than a C
//! struct per call: one entry point serves every operation, and encoding a
//! reply costs microseconds against a guest call that costs at least tens.
//!
//! Deno calls it in two ways: synchronously for the methods swamp's
//! contract declares synchronous (`createProvider`, `createLock`,
//! `resolveDatastorePath`, ...; each bounded by the call deadline), and
//! with `nonblocking: true` for every other call, which runs it on a
//! thread of Deno's blocking pool and gives swamp's thread a Promise: a
//! guest that spins or a server that never answers then holds up nothing
//! of swamp's but that Promise, until the host stops the call at its
//! deadline.

mod handles;
mod ops;
mod wire;

use std::ffi::{CString, c_char};
use std::panic::AssertUnwindSafe;

/// Handle one JSON request (`len` bytes at `request`); returns the reply,
/// to be freed with [`swamp_ffi_free`].
///
/// # Safety
///
/// `request` must point to `len` readable bytes that stay valid for the
/// call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn swamp_ffi_call(request: *const u8, len: usize) -> *mut c_char {
    let bytes: &[u8] = if request.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes a buffer of `len` bytes (see above).
        unsafe { std::slice::from_raw_parts(request, len) }
    };
    // A panic must not unwind into Deno: it becomes an error reply.
    let reply = std::panic::catch_unwind(AssertUnwindSafe(|| ops::dispatch(bytes)))
        .unwrap_or_else(|_| wire::error_reply("internal", "the native host panicked"));
    // JSON escapes NUL inside strings, so the reply has none.
    CString::new(reply)
        .unwrap_or_else(|_| {
            CString::from(c"{\"error\":{\"kind\":\"internal\",\"message\":\"reply had a NUL\"}}")
        })
        .into_raw()
}

/// Free a reply of [`swamp_ffi_call`].
///
/// # Safety
///
/// `reply` must be a pointer [`swamp_ffi_call`] returned, freed only once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn swamp_ffi_free(reply: *mut c_char) {
    if !reply.is_null() {
        // SAFETY: it came from CString::into_raw in swamp_ffi_call.
        drop(unsafe { CString::from_raw(reply) });
    }
}

/// The same entry point for Rust callers (tests): request in, reply out.
pub fn call_json(request: &str) -> String {
    ops::dispatch(request.as_bytes())
}
