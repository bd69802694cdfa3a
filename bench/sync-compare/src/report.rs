//! The figure's result file (`bench/results/parts/d.json`), in the shape
//! every figure part shares: measurements, comparisons against targets,
//! notes.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Measurement {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub name: String,
    /// s3-datastore's time divided by the other client's time.
    pub ratio: f64,
    pub target: String,
    /// Whether the ratio meets the target; null when there is none.
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub figure: String,
    pub title: String,
    pub measurements: Vec<Measurement>,
    pub comparisons: Vec<Comparison>,
    pub notes: String,
    /// When it was measured (UTC), for a report that merges several runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<String>,
}

impl Report {
    pub fn measure(&mut self, name: impl Into<String>, value: f64, unit: &str) {
        self.measurements.push(Measurement {
            name: name.into(),
            value: round(value),
            unit: unit.into(),
        });
    }

    /// Record `ours / theirs` against the target `ratio <= limit`.
    pub fn compare(&mut self, name: impl Into<String>, ours: f64, theirs: f64, limit: f64) {
        let ratio = ours / theirs;
        self.comparisons.push(Comparison {
            name: name.into(),
            ratio: round(ratio),
            target: format!("<= {limit}"),
            met: Some(ratio <= limit),
        });
    }

    /// Record `ours / theirs` for information, with no target.
    pub fn informative(&mut self, name: impl Into<String>, ours: f64, theirs: f64) {
        self.comparisons.push(Comparison {
            name: name.into(),
            ratio: round(ours / theirs),
            target: "none".into(),
            met: None,
        });
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }
}

/// Now, as the report writes dates (`2026-12-02 07:46 UTC`).
pub fn now_utc() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Three decimals: more would be noise.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
