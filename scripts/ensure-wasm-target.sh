#!/usr/bin/env bash
# Makes sure the Rust toolchain this workspace builds with can compile for
# wasm32-wasip2, and adds the target with rustup when it cannot.
#
# Why a step of its own: `rust-toolchain.toml` lists the target, but rustup
# adds a toolchain file's targets only while it installs the toolchain. When
# the pinned toolchain is already there without the target (and automatic
# installs are off, RUSTUP_AUTO_INSTALL=0), nothing adds it, and every guest
# build fails with "can't find crate for `core`".
#
# Called by the Makefile before any wasm32-wasip2 build, by
# `host_harness::bundled` (host-harness/src/bundled.rs) before it builds a
# guest, and by the build script of guest/test-guests/artifacts (the tests'
# components). A machine that has the target pays one `rustc --print
# sysroot` (a few milliseconds).
#
# The rustc asked is $RUSTC if set, else the rustc beside $CARGO (the cargo
# that is running a build or a test), else `rustc` on PATH run from the
# workspace root, so `rust-toolchain.toml` chooses it. Exit 0 when the
# target is (now) installed; otherwise one paragraph on stderr saying what
# is missing and the command that fixes it, and exit 1.
set -euo pipefail

target=wasm32-wasip2
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

rustc="${RUSTC:-}"
if [ -z "$rustc" ] && [ -n "${CARGO:-}" ] && [ -x "$(dirname "$CARGO")/rustc" ]; then
    rustc="$(dirname "$CARGO")/rustc"
fi
rustc="${rustc:-rustc}"

fail() {
    printf 'error: %s\n' "$1" >&2
    exit 1
}

if ! sysroot="$("$rustc" --print sysroot 2>/dev/null)" || [ -z "$sysroot" ]; then
    fail "cannot run the Rust compiler ('$rustc --print sysroot' failed). This project builds with the toolchain pinned in rust-toolchain.toml; install rustup (see https://rustup.rs), then run this command again: rustup installs that toolchain and the $target target on first use."
fi

if [ -d "$sysroot/lib/rustlib/$target/lib" ]; then
    exit 0
fi

version="$("$rustc" --version 2>/dev/null || echo "rustc")"
toolchain="$(basename "$sysroot")"

if ! command -v rustup >/dev/null 2>&1; then
    fail "the Rust target $target is not installed for the compiler at $sysroot ($version), and rustup, which would add it, is not on PATH. The datastore guests of this project are WebAssembly components built for $target. Either install rustup (see https://rustup.rs) and run this command again, or install the $target standard library for this compiler the way it was installed (a distribution's package), or point RUSTC and CARGO at a toolchain that has it."
fi

# A toolchain that rustup manages lives in <rustup home>/toolchains/<name>.
rustup_home="$(rustup show home 2>/dev/null || true)"
if [ -z "$rustup_home" ] || [ "$(dirname "$sysroot")" != "$rustup_home/toolchains" ]; then
    fail "the Rust target $target is not installed for the compiler at $sysroot ($version), and that compiler is not one rustup manages (its toolchains live in ${rustup_home:-<rustup home>}/toolchains), so rustup cannot add the target to it. Install the $target standard library for this compiler the way it was installed, or run this command with the rustup toolchain pinned in rust-toolchain.toml (rustup toolchain install $(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml) --target $target)."
fi

echo "installing the Rust target $target for toolchain $toolchain (rustup target add; once per machine, a few seconds) ..." >&2
if ! log="$(rustup target add --toolchain "$toolchain" "$target" 2>&1)"; then
    fail "the Rust target $target is not installed for toolchain $toolchain, and adding it failed:
$log
Fix it with this command (it needs to reach the Rust distribution server), then run this command again:
    rustup target add --toolchain $toolchain $target"
fi

if [ ! -d "$sysroot/lib/rustlib/$target/lib" ]; then
    fail "rustup reported success, but the $target standard library is still missing under $sysroot/lib/rustlib. Run 'rustup target add --toolchain $toolchain $target' and check its output."
fi
