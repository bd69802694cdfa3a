# Named entry points; each only calls cargo or a script.
# The bundled datastores, and with them the README's example and the test
# guests (one package, a component per bin: guest/test-guests/src/lib.rs).
BUNDLED := -p fs-datastore -p s3-datastore
GUESTS := $(BUNDLED) -p dir-datastore -p test-guests
WASM_TARGET := wasm32-wasip2

.PHONY: build guests host run test fmt lint clean readme bench

## build: the guest components (target/wasm32-wasip2/release/*.wasm) and the host
build: guests host

## wasm-target: add the wasm32-wasip2 target to the pinned toolchain when it
## is missing (rustup does not, for a toolchain installed before; see the script)
.PHONY: wasm-target
wasm-target:
	scripts/ensure-wasm-target.sh

guests: wasm-target
	cargo build --release --target $(WASM_TARGET) $(GUESTS)

host:
	cargo build -p host-harness

## run: check the bundled fs-datastore on a temporary directory
run:
	cargo run -p host-harness

## test: every test of the workspace, and the packaging check below. The
## tests' components come from guest/test-guests/artifacts, built as the
## tests compile; the bundled datastores are built first for the tests that
## run them as the CLI and the reliability scenarios do
## (host-harness/src/bundled.rs)
test: wasm-target package-check
	cargo build --release --target $(WASM_TARGET) $(BUNDLED)
	cargo test --workspace

## package-check: `cargo package` (verified, offline) of swamp-datastore-sdk,
## swamp-host and conformance, and the files from outside their directories
## (wit/, hostile/) inside the packages (scripts/package-check.sh)
.PHONY: package-check
package-check:
	scripts/package-check.sh

## package: a component as a swamp (Deno) datastore extension folder
## (make package COMPONENT=path/to/x.wasm OUT=dir; default fs-datastore into
## target/extension); installs the pinned node tools on first use
COMPONENT ?= target/$(WASM_TARGET)/release/fs_datastore.wasm
OUT ?= target/extension
.PHONY: package
package: guests
	cargo build -p swamp-host-ffi
	cargo run -p host-harness -- package $(COMPONENT) --out $(OUT)

fmt:
	cargo fmt --all

lint: wasm-target
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target $(WASM_TARGET) $(GUESTS) -- -D warnings

clean:
	cargo clean

## bench: the benchmarks shown in README.md's Benchmarks section (release
## build; the run takes minutes):
## figures a,b,c,e,f,g (bench, which builds the two components it loads),
## then d (bench-sync-compare) and h (inside swamp: the packaged extension
## under Deno against a plain Deno fetch script, and swamp-host), then merge
## them into bench/results/latest.{json,md,svg} and the README section
bench:
	cargo run --release -p bench -- run
	cargo run --release -p bench-sync-compare --bin bench-sync-compare
	cargo run --release -p bench-sync-compare --bin inside-swamp
	cargo run --release -p bench -- report

## fuzz: run every cargo-fuzz target (fuzz/fuzz_targets/) for FUZZ_SECONDS
## (default 60) each on nightly; installs cargo-fuzz into target/tools on
## first use. `make test` replays the seed corpora and past crashes only.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## stress: the reliability scenarios at full size on fs and on a SeaweedFS it
## starts: lock contention (8 threads × 500 critical sections), pauses and
## fencing, and STRESS_KILLS (default 100) SIGKILLs each of push, pull and
## hydrate; prints the figures, writes reliability/results/stress-latest.json
STRESS_KILLS ?= 100
.PHONY: stress
stress:
	cargo build -p reliability --bins
	cargo run -p reliability --bin stress -- --kills $(STRESS_KILLS)

## readme: regenerate the list of checks in README.md
readme:
	scripts/refresh-readme.sh
