#!/usr/bin/env bash
# Shows that the crates an author outside this repository builds on can be
# packaged: `cargo package` of swamp-datastore-sdk (a guest's only
# dependency), swamp-datastore-types (the WIT's records, which the SDK and
# swamp-host share), swamp-host and conformance (what `host-harness check` runs,
# for a host or a CI of one's own), in one invocation so that cargo puts the
# unpublished ones in a local overlay registry for each other. Each package
# is verified: cargo unpacks it and builds it alone, which proves it
# carries everything it reads. Then the files that live outside the crate
# directories (the WIT, the hostile corpus; reached through the symlinks
# guest/sdk/wit, swamp-host/wit and conformance/hostile, which
# cargo follows) are compared with the packaged copies byte for byte.
#
# Offline: the verification needs only the crates already in cargo's
# registry cache (`--offline`), which any earlier build of the workspace
# put there. `--allow-dirty`: `make test` runs on working trees with edits
# not yet committed, and what is checked here is what a package holds, not
# whether the tree is clean.
#
# The verification builds outside this workspace, where the root
# Cargo.toml's profile does not apply; the same profile is given with
# --config so that it reuses the dependencies `make build` compiled instead
# of compiling wasmtime a second time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
target="${CARGO_TARGET_DIR:-$root/target}"
start=$SECONDS

# cargo unpacks each overlay package into $CARGO_HOME/registry/src/-<hash of
# the overlay's path>/<crate>-<version>/ and reuses that directory whenever
# it is already there, whatever the package now holds: a clone at a path an
# earlier run used would verify against that run's sources (seen: a
# swamp-host from before swamp-datastore-types, which failed to build the
# new conformance). Our versions never change between edits, so the stale
# unpacked copies of our crates are removed first. Only the overlay
# registries ("-" + hash, no host name) are touched, never crates.io's.
crates=(swamp-datastore-types swamp-datastore-sdk swamp-host conformance)
for crate in "${crates[@]}"; do
    rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate-$version"
done
cargo package --offline --allow-dirty \
    --config 'profile.dev.package."*".opt-level=2' \
    --config 'profile.dev.package."*".debug=false' \
    "${crates[@]/#/--package=}"

# Compare $2 (a path in the repository) with its copy in crate $1's package.
same() {
    local crate="$1" file="$2" archive="$target/package/$1-$version.crate"
    if ! cmp -s <(tar -xzOf "$archive" "$crate-$version/$file") "$file"; then
        echo "error: $file is missing from $archive or differs from the repository's" >&2
        exit 1
    fi
}
count=0
while IFS= read -r f; do
    same swamp-datastore-sdk "$f"
    same swamp-host "$f"
    count=$((count + 2))
done < <(find wit -type f | sort)
while IFS= read -r f; do
    same conformance "$f"
    count=$((count + 1))
done < <(find hostile/index hostile/lock hostile/recipe.rs -type f | sort)
echo "package-check: 4 crates packaged and verified, $count files from outside the crate directories present and equal, in $((SECONDS - start)) s"
