#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 60) each,
# or only the targets named as arguments. Installs cargo-fuzz into
# target/tools/cargo-fuzz when it is missing. Needs the nightly toolchain.
#
# libFuzzer starts from a scratch copy of the committed seed corpus
# (target/fuzz-corpus/<target>) and writes what it finds there, so the
# checkout stays clean. A crash stops the run; its input is left in
# fuzz/artifacts/<target>/ — once the bug is fixed, move it to
# fuzz/regressions/<target>/, where `make test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
tools=$PWD/target/tools/cargo-fuzz
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
    cargo +nightly install cargo-fuzz --locked --root "$tools"
fi
export PATH=$tools/bin:$PATH

# No sanitizer: the code under test is safe Rust (ASan would halve the
# executions a second for no extra finding); overflow checks and debug
# assertions stay on (cargo-fuzz's default).
fuzz=(cargo +nightly fuzz run --fuzz-dir fuzz --sanitizer none --target-dir target/fuzz)

# The fuzz workspace takes the root workspace's pinned versions: its lock
# file is generated from the root one (and ignored by git), so it never
# drifts from what `make test` builds.
cp Cargo.lock fuzz/Cargo.lock

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
failed=()
for t in "${targets[@]}"; do
    scratch=target/fuzz-corpus/$t
    mkdir -p "$scratch"
    cp -f fuzz/corpus/"$t"/* "$scratch"/
    echo "== fuzz $t for ${seconds}s"
    # A crash ends this target's run, not the others'.
    "${fuzz[@]}" "$t" "$scratch" -- -max_total_time="$seconds" -print_final_stats=1 ||
        failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
