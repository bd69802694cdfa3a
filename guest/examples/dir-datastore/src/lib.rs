//! A complete swamp datastore: locks and a health check in a directory. `Dir`
//! is the datastore type; a value is one configured directory.
use swamp_datastore_sdk::lock_engine::{EngineLock, LockDir};
use swamp_datastore_sdk::{config::ConfigCheck, serde_json::Value, *};

struct Dir(String);

impl Datastore for Dir {
    fn datastore_type() -> String {
        "@example/dir-datastore".into()
    }
    fn name() -> String {
        "Directory datastore".into()
    }
    fn description() -> String {
        "Locks and health checks in a local directory".into()
    }
    fn config_schema() -> String {
        include_str!("schema.json").into()
    }
    fn create_provider(config: Value) -> Result<Box<dyn Provider>> {
        let mut check = ConfigCheck::new(&config);
        let path = check.required_string("path").unwrap_or_default();
        check.absolute_path("path", &path);
        check.deny_unknown(&["path"]);
        check.finish()?;
        Ok(Box::new(Dir(path)))
    }
}

impl Provider for Dir {
    fn create_lock(&self, path: &str, options: LockOptions) -> Result<Box<dyn Lock>> {
        let lock = EngineLock::new(LockDir::new(path)?, &options, host::identity())?;
        Ok(Box::new(lock))
    }
    fn create_verifier(&self) -> Result<Box<dyn Verifier>> {
        Ok(Box::new(Dir(self.0.clone())))
    }
    fn resolve_datastore_path(&self, _repo_dir: &str) -> Result<String> {
        Ok(self.0.clone())
    }
}

impl Verifier for Dir {
    fn verify(&self) -> Result<HealthResult> {
        let started = std::time::Instant::now();
        let probe = format!("{}/.health-probe-{}", self.0, nonce::new_nonce());
        let outcome = write_file::WriteFile::create_new(probe.as_ref())
            .and_then(|_| std::fs::remove_file(&probe));
        Ok(HealthResult {
            healthy: outcome.is_ok(),
            message: outcome.map_or_else(|e| format!("{probe}: {e}"), |()| "writable".into()),
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            datastore_type: Dir::datastore_type(),
            details: vec![("path".into(), self.0.clone())],
        })
    }
}

export_datastore!(Dir);
