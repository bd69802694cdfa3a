//! The health check: the directory must exist, and a probe file must be
//! written, read back and deleted (a stat is not a health check: a
//! read-only directory is unhealthy).

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use swamp_datastore_sdk::{HealthResult, Result, Verifier, nonce};

pub struct DirVerifier {
    path: PathBuf,
    datastore_type: String,
}

impl DirVerifier {
    pub fn new(path: &str, datastore_type: &str) -> DirVerifier {
        DirVerifier {
            path: path.into(),
            datastore_type: datastore_type.into(),
        }
    }

    /// `Err` says what is wrong.
    fn probe(&self) -> std::result::Result<(), String> {
        let dir = self.path.display();
        if !self.path.is_dir() {
            return Err(format!("{dir} does not exist or is not a directory"));
        }
        let probe = self.path.join(format!(".health-{}", nonce::new_nonce()));
        let token = nonce::new_nonce();
        if let Err(e) = fs::write(&probe, &token) {
            let _ = fs::remove_file(&probe);
            return Err(format!("{dir} is not writable: {e}"));
        }
        let read = fs::read(&probe);
        let removed = fs::remove_file(&probe);
        match read {
            Ok(bytes) if bytes == token.as_bytes() => {}
            Ok(_) => return Err(format!("a probe file in {dir} read back different bytes")),
            Err(e) => return Err(format!("a probe file in {dir} cannot be read: {e}")),
        }
        removed.map_err(|e| format!("a probe file in {dir} cannot be deleted: {e}"))
    }
}

impl Verifier for DirVerifier {
    /// Unhealthy is an answer, not an error.
    fn verify(&self) -> Result<HealthResult> {
        let start = Instant::now();
        let outcome = self.probe();
        Ok(HealthResult {
            healthy: outcome.is_ok(),
            message: outcome
                .err()
                .unwrap_or_else(|| format!("{} is healthy", self.path.display())),
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            datastore_type: self.datastore_type.clone(),
            details: vec![("path".into(), self.path.display().to_string())],
        })
    }
}
