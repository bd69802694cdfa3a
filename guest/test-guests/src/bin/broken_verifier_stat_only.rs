//! Test-only guest, broken on purpose: the verifier calls the datastore healthy when its directory exists, without trying a write.
//! Everything else is fs-datastore.

use test_guests::prelude::*;

struct B;

struct StatOnly {
    path: String,
    inner: Box<dyn Verifier>,
}

impl Verifier for StatOnly {
    fn verify(&self) -> Result<HealthResult> {
        let mut r = self.inner.verify()?;
        if std::path::Path::new(&self.path).is_dir() {
            r.healthy = true;
            r.message = format!("{} exists", self.path);
        }
        Ok(r)
    }
}

impl Break for B {
    fn create_verifier(p: &ProviderCx) -> Result<Box<dyn Verifier>> {
        Ok(Box::new(StatOnly {
            path: p.config.path.clone(),
            inner: p.inner.create_verifier()?,
        }))
    }
}

export_broken!(B);
