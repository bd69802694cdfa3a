//! One figure's results: the fragment file `bench/results/parts/<letter>.json`
//! every figure writes (this crate's and `bench-sync-compare`'s alike) and
//! the report merges.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub name: String,
    pub value: f64,
    /// "ms", "µs", "s", "MiB", "requests" or "files/s".
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub name: String,
    pub ratio: f64,
    /// "<= 1.3" (a bound on the ratio), or "none" for an informative ratio.
    pub target: String,
    /// Whether the ratio meets the target; null when there is no target.
    pub met: Option<bool>,
}

impl Comparison {
    /// A ratio with an upper bound.
    pub fn at_most(name: impl Into<String>, ratio: f64, bound: f64) -> Comparison {
        Comparison {
            name: name.into(),
            ratio,
            target: format!("<= {bound}"),
            met: Some(ratio <= bound),
        }
    }

    /// A ratio shown for information, with no target.
    pub fn informative(name: impl Into<String>, ratio: f64) -> Comparison {
        Comparison {
            name: name.into(),
            ratio,
            target: "none".into(),
            met: None,
        }
    }

    /// The bound of a `<= x` target.
    pub fn bound(&self) -> Option<f64> {
        self.target
            .trim()
            .strip_prefix("<=")
            .or_else(|| self.target.trim().strip_prefix('≤'))
            .and_then(|b| b.trim().parse().ok())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    pub figure: String,
    pub title: String,
    pub measurements: Vec<Measurement>,
    pub comparisons: Vec<Comparison>,
    pub notes: String,
    /// When the figure was measured (UTC), if its writer records it: a
    /// report merges parts of different runs and must not date them all
    /// by the day it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<String>,
}

impl Fragment {
    pub fn new(figure: &str, title: &str) -> Fragment {
        Fragment {
            figure: figure.into(),
            title: title.into(),
            measurements: Vec::new(),
            comparisons: Vec::new(),
            notes: String::new(),
            measured: None,
        }
    }

    pub fn measure(&mut self, name: impl Into<String>, value: f64, unit: &str) {
        self.measurements.push(Measurement {
            name: name.into(),
            value,
            unit: unit.into(),
        });
    }

    pub fn compare(&mut self, c: Comparison) {
        self.comparisons.push(c);
    }

    pub fn note(&mut self, text: impl AsRef<str>) {
        if !self.notes.is_empty() {
            self.notes.push(' ');
        }
        self.notes.push_str(text.as_ref());
    }

    /// `parts/<figure>.json` under `results`.
    pub fn path(results: &Path, figure: &str) -> PathBuf {
        results.join("parts").join(format!("{figure}.json"))
    }

    pub fn write(&self, results: &Path) -> anyhow::Result<PathBuf> {
        let path = Self::path(results, &self.figure);
        std::fs::create_dir_all(path.parent().expect("parts dir"))?;
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_judge() {
        let c = Comparison::at_most("x", 1.4, 1.3);
        assert_eq!(c.target, "<= 1.3");
        assert_eq!(c.met, Some(false));
        assert_eq!(c.bound(), Some(1.3));
        assert_eq!(Comparison::at_most("y", 0.9, 1.0).met, Some(true));
        let i = Comparison::informative("z", 3.0);
        assert_eq!((i.bound(), i.met), (None, None));
    }

    #[test]
    fn the_contract_shape_reads_back() {
        // A fragment as the sync-compare crate writes it (met as a bool).
        let text = r#"{"figure": "d", "title": "t", "measurements": [{"name": "n", "value": 1.5, "unit": "s"}],
            "comparisons": [{"name": "c", "ratio": 0.93, "target": "<= 1.0", "met": true}], "notes": ""}"#;
        let f: Fragment = serde_json::from_str(text).unwrap();
        assert_eq!(f.comparisons[0].met, Some(true));
        assert_eq!(f.comparisons[0].bound(), Some(1.0));
    }
}
