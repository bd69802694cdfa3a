//! The crash scenario as the tests run it.

use std::path::PathBuf;

use reliability::Remote;
use reliability::crash::{self, CrashConfig, Op};

pub fn check(remote: &Remote, seed: u64, kills: usize) {
    let cfg = CrashConfig {
        child: PathBuf::from(env!("CARGO_BIN_EXE_sync-child")),
        kills,
        ops: vec![Op::Push, Op::Pull, Op::Hydrate],
        files: 18,
        changes: 5,
        seed,
    };
    let report = crash::run(remote, &cfg).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(
        report.violations.is_empty(),
        "seed {seed}: {} violations:\n{}",
        report.violations.len(),
        report.violations.join("\n")
    );
    for op in &report.ops {
        assert_eq!(op.kills, kills, "{op:?}");
        assert!(
            op.finished_before_kill < op.kills,
            "no kill landed during {}: {op:?}",
            op.op
        );
    }
}
