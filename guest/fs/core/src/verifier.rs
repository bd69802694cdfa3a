//! The health probe (docs/contract.md §3.2): stat the directory, then
//! write, read back and delete a probe file, timing the round trip on the
//! monotonic clock.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::time::Instant;

use swamp_datastore_sdk::write_file::WriteFile;
use swamp_datastore_sdk::{HealthResult, Result, Verifier, nonce};

/// Probes one datastore directory.
pub struct FsVerifier {
    path: PathBuf,
    datastore_type: String,
}

impl FsVerifier {
    /// A verifier for `path`.
    pub fn new(path: &str, datastore_type: &str) -> FsVerifier {
        FsVerifier {
            path: PathBuf::from(path),
            datastore_type: datastore_type.to_string(),
        }
    }

    /// Write, read back and delete a probe; `Err(message)` says why not.
    fn probe(&self) -> std::result::Result<(), String> {
        let p = self.path.display();
        match fs::metadata(&self.path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(format!(
                    "Datastore directory does not exist: {p}. Run 'swamp datastore setup filesystem --path {p}' to create it."
                ));
            }
            Err(e) => return Err(format!("Cannot access datastore: {e}")),
            Ok(m) if !m.is_dir() => return Err(format!("Path exists but is not a directory: {p}")),
            Ok(_) => {}
        }
        let probe = self
            .path
            .join(format!(".swamp-health-check-{}", nonce::new_nonce()));
        let token = nonce::new_nonce();
        let written = WriteFile::create_new(&probe)
            .and_then(|mut f| f.write_all(token.as_bytes()).and_then(|_| f.sync_all()));
        if let Err(e) = written {
            let _ = fs::remove_file(&probe);
            return Err(format!("Directory exists but is not writable: {p}. {e}"));
        }
        let read = fs::read(&probe);
        let removed = fs::remove_file(&probe);
        match read {
            Ok(b) if b == token.as_bytes() => {}
            Ok(_) => {
                return Err(format!(
                    "Cannot access datastore: the probe file in {p} read back different content"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "Cannot access datastore: reading the probe file in {p} failed: {e}"
                ));
            }
        }
        removed.map_err(|e| {
            format!("Cannot access datastore: deleting the probe file in {p} failed: {e}")
        })
    }
}

impl Verifier for FsVerifier {
    fn verify(&self) -> Result<HealthResult> {
        let start = Instant::now();
        let outcome = self.probe();
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        let p = self.path.display().to_string();
        Ok(HealthResult {
            healthy: outcome.is_ok(),
            message: match outcome {
                Ok(()) => format!("Filesystem datastore at {p} is healthy"),
                Err(m) => m,
            },
            latency_ms,
            datastore_type: self.datastore_type.clone(),
            details: vec![("path".into(), p)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_directory_leaves_no_probe() {
        let d = tempfile::tempdir().unwrap();
        let v = FsVerifier::new(d.path().to_str().unwrap(), "@t/fs");
        let r = v.verify().unwrap();
        assert!(r.healthy, "{}", r.message);
        assert!(r.message.ends_with("is healthy"));
        assert!(r.latency_ms >= 0.0);
        assert_eq!(r.datastore_type, "@t/fs");
        assert_eq!(
            r.details,
            vec![("path".to_string(), d.path().display().to_string())]
        );
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_directory_and_file_are_unhealthy_with_reasons() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        let r = FsVerifier::new(missing.to_str().unwrap(), "@t/fs")
            .verify()
            .unwrap();
        assert!(!r.healthy);
        assert!(
            r.message
                .starts_with("Datastore directory does not exist: ")
        );
        let file = d.path().join("f");
        fs::write(&file, "x").unwrap();
        let r = FsVerifier::new(file.to_str().unwrap(), "@t/fs")
            .verify()
            .unwrap();
        assert!(!r.healthy);
        assert!(
            r.message
                .starts_with("Path exists but is not a directory: ")
        );
    }
}
