#!/usr/bin/env bash
# Builds the component and runs the conformance suite on it, on a fresh
# temporary directory. Extra arguments go to `host-harness check` (for
# example `--format json` or `--suite lock`). Exit 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")"

# The host-harness that wrote this crate, unless HOST_HARNESS names another
# (or it is gone: then the one on PATH).
harness="${HOST_HARNESS:-{{host_harness}}}"
[ -x "$harness" ] || harness=host-harness

libdir="$(rustc --print target-libdir --target wasm32-wasip2)"
if [ ! -d "$libdir" ]; then
    echo "error: the Rust target wasm32-wasip2 is not installed; run: rustup target add wasm32-wasip2" >&2
    exit 1
fi
cargo build --release --target wasm32-wasip2
wasm="${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/{{crate_name}}.wasm"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/datastore"
echo "not a directory" > "$work/a-file"
config() { printf '{"path": "%s"}' "$1"; }

# --strict: a check skipped for want of an input (an invalid or unhealthy
# config) fails the run, so every check that applies runs.
"$harness" check "$wasm" --config "$(config "$work/datastore")" \
    --invalid-config '{}' \
    --invalid-config '{"path": "relative/dir"}' \
    --invalid-config '{"path": "/abs", "unknown": true}' \
    --unhealthy-config "$(config "$work/missing")" \
    --unhealthy-config "$(config "$work/a-file")" \
    --strict "$@"
