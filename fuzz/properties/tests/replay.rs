//! Replays every committed fuzz input through the fuzz targets' properties
//! on the stable toolchain: the seed corpora (`fuzz/corpus/<target>/`) and
//! every input that once crashed a target (`fuzz/regressions/<target>/`),
//! so a fixed crash stays fixed without running the fuzzer.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .map(|e| e.expect("read corpus dir").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run every input of `folder/<target>/` through its target's properties;
/// fail naming every input that breaks one (the panic message above it
/// says which property).
fn replay(folder: &str, min: usize) {
    let mut total = 0;
    let mut failed = Vec::new();
    for (target, check) in fuzz_properties::TARGETS {
        let files = inputs(&fuzz_dir().join(folder).join(target));
        for f in &files {
            let data = std::fs::read(f).expect("read input");
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failed.push(format!("{target}: {}", f.display()));
            }
        }
        assert!(
            files.len() >= min,
            "{folder}/{target} has {} inputs, expected at least {min}",
            files.len()
        );
        total += files.len();
    }
    assert!(
        failed.is_empty(),
        "inputs failing their property:\n{}",
        failed.join("\n")
    );
    println!("{folder}: {total} inputs replayed");
}

#[test]
fn seed_corpora_hold_every_property() {
    // Every target has a seed corpus; an empty one would prove nothing.
    replay("corpus", 3);
}

#[test]
fn past_crashes_stay_fixed() {
    replay("regressions", 0);
}
