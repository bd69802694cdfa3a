//! Embeds the hostile remote-index cases (`hostile/index`, see
//! hostile/README.md) into the suite, so `host-harness check` plants them
//! in any component's datastore from wherever the binary runs. The suite
//! reads `hostile/` through `conformance/hostile`, whose `index`, `lock` and
//! `recipe.rs` are symlinks to the repository's, the parts it uses; `cargo
//! package` follows them, so the packaged crate carries the cases too (why
//! symlinks: guest/sdk/src/bindings.rs).

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read at run time: a build script compiled in one checkout (or a
    // packaged copy) must not read another checkout's corpus.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("hostile/index");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("hostile/index")
        .map(|e| {
            e.expect("hostile/index entry")
                .file_name()
                .into_string()
                .expect("UTF-8 name")
        })
        .filter(|n| n != "expect.json")
        .collect();
    names.sort();
    let mut out = String::new();
    let abs = |n: &str| {
        dir.join(n)
            .canonicalize()
            .expect("case file")
            .display()
            .to_string()
    };
    writeln!(
        out,
        "pub(crate) const EXPECT: &str = include_str!({:?});",
        abs("expect.json")
    )
    .unwrap();
    writeln!(out, "pub(crate) const CASES: &[(&str, &[u8])] = &[").unwrap();
    for n in &names {
        println!("cargo:rerun-if-changed={}", abs(n));
        writeln!(out, "    ({n:?}, include_bytes!({:?})),", abs(n)).unwrap();
    }
    writeln!(out, "];").unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("hostile_index.rs");
    std::fs::write(dest, out).expect("writing hostile_index.rs");
}
