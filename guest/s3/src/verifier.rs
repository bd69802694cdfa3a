//! The health probe: HeadBucket, then a conditional create of a probe key,
//! a second conditional create that must be refused (proving the server
//! enforces `If-None-Match`, which the lock depends on), and a delete.

use std::rc::Rc;
use std::time::Instant;

use swamp_datastore_sdk::nonce::new_nonce;
use swamp_datastore_sdk::{Error, HealthResult, Result};

use crate::client::{Cond, Deadline, S3Client};
use crate::http::Transport;

/// The probe.
pub struct S3Verifier<T: Transport> {
    client: Rc<S3Client<T>>,
    datastore_type: String,
}

impl<T: Transport> S3Verifier<T> {
    pub fn new(client: Rc<S3Client<T>>, datastore_type: &str) -> S3Verifier<T> {
        S3Verifier {
            client,
            datastore_type: datastore_type.to_string(),
        }
    }

    fn hint(e: &Error) -> &'static str {
        match e {
            Error::PermissionDenied(_) => {
                " Check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the config) and that they may HeadBucket, GetObject, PutObject, DeleteObject and ListBucket on this bucket."
            }
            Error::NotFound(_) => {
                " The bucket does not exist: create it or fix 'bucket' (and 'endpoint'/'region')."
            }
            Error::Unavailable(_) | Error::Aborted(_) => {
                " Check 'endpoint' (or 'region'), the network, and that the server is running."
            }
            Error::Unsupported(_) => " The server lacks a feature this datastore needs.",
            _ => "",
        }
    }

    async fn probe(&self) -> Result<()> {
        let c = &self.client;
        let bucket = &c.config().bucket;
        c.head_bucket(Deadline::NONE)
            .await?
            .map_err(|f| f.into_error("HeadBucket", &format!("s3://{bucket}")))?;
        let key = c
            .config()
            .full_key(&format!(".swamp-health-check-{}", new_nonce()));
        let target = c.describe(&key);
        c.put(
            &key,
            b"swamp health check".to_vec(),
            &Cond::Absent,
            Deadline::NONE,
        )
        .await?
        .map_err(|f| f.into_error("PutObject (If-None-Match probe)", &target))?;
        let second = c
            .put(&key, b"again".to_vec(), &Cond::Absent, Deadline::NONE)
            .await?;
        let cleanup = c.delete(&key, &Cond::None, Deadline::NONE).await?;
        match second {
            Err(f) if f.is_precondition() => {}
            Ok(_) => {
                return Err(Error::Unsupported(format!(
                    "the server overwrote {target} despite If-None-Match: *; conditional writes are required for safe locking"
                )));
            }
            Err(f) => return Err(f.into_error("PutObject (If-None-Match probe)", &target)),
        }
        cleanup.map_err(|f| f.into_error("DeleteObject (probe)", &target))
    }

    /// Run the probe; unhealthy is a result, not an error.
    pub async fn verify(&self) -> HealthResult {
        let start = Instant::now();
        let outcome = self.probe().await;
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        let cfg = self.client.config();
        let mut details = vec![
            ("bucket".to_string(), cfg.bucket.clone()),
            ("region".to_string(), cfg.region.clone()),
        ];
        details.push((
            "endpoint".to_string(),
            cfg.endpoint
                .clone()
                .unwrap_or_else(|| crate::client::aws_endpoint(&cfg.region)),
        ));
        if let Some(p) = &cfg.prefix {
            details.push(("prefix".to_string(), p.clone()));
        }
        let (healthy, message) = match outcome {
            Ok(()) => (true, format!("S3 bucket '{}' is accessible", cfg.bucket)),
            Err(e) => {
                details.push(("error-kind".to_string(), kind(&e).to_string()));
                (
                    false,
                    format!(
                        "Cannot access S3 bucket '{}': {e}.{}",
                        cfg.bucket,
                        Self::hint(&e)
                    ),
                )
            }
        };
        HealthResult {
            healthy,
            message,
            latency_ms,
            datastore_type: self.datastore_type.clone(),
            details,
        }
    }
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::PermissionDenied(_) => "permission-denied",
        Error::NotFound(_) => "not-found",
        Error::Unavailable(_) => "unavailable",
        Error::Aborted(_) => "aborted",
        Error::Unsupported(_) => "unsupported",
        _ => "other",
    }
}
