//! The report of a run and its three renderings: an aligned table for
//! people, JSON for scripts, JUnit XML for CI systems.

use crate::framework::{CheckResult, ParseError, Status, Suite};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};
use std::fmt::Write as _;
use std::str::FromStr;

/// Every check's result, in run order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One result per check that the filter selected, in run order.
    pub checks: Vec<CheckResult>,
}

/// How to render a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// An aligned table of id, suite, status and message, then a summary
    /// line; for reading in a terminal.
    #[default]
    Human,
    /// A JSON object with one `checks` array of id, suite, status,
    /// message, description and duration; for scripts.
    Json,
    /// JUnit XML with one test suite per check suite that ran, for CI
    /// systems that display test results.
    Junit,
}

impl FromStr for Format {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "human" => Ok(Format::Human),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            _ => Err(ParseError(format!(
                "unknown format {s:?}: expected human, json or junit"
            ))),
        }
    }
}

impl Report {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.count(|s| matches!(s, Status::Pass))
    }

    /// How many checks failed; a conforming component has none.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Fail(_)))
    }

    /// How many checks were skipped, whether because they do not apply or
    /// for want of an input.
    pub fn skipped(&self) -> usize {
        self.count(|s| matches!(s, Status::Skipped(_)))
    }

    /// The checks skipped for want of an input the author could give.
    pub fn needing_input(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.status.needs_input())
            .map(|c| c.id)
            .collect()
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.checks.iter().filter(|c| f(&c.status)).count()
    }

    /// "N passed, N failed, N skipped".
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// The whole report as text in `format`, ending with a newline.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Human => self.render_human(),
            Format::Json => self.render_json(),
            Format::Junit => self.render_junit(),
        }
    }

    fn render_human(&self) -> String {
        let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let rows: Vec<[String; 4]> = self
            .checks
            .iter()
            .map(|c| {
                [
                    c.id.to_string(),
                    c.suite.to_string(),
                    c.status.name().to_uppercase(),
                    one_line(c.status.message()),
                ]
            })
            .collect();
        let header = ["ID", "SUITE", "STATUS", "MESSAGE"].map(String::from);
        let mut widths = [0usize; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "{:w0$}  {:w1$}  {:w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    fn render_json(&self) -> String {
        let checks: Vec<serde_json::Value> = self
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "suite": c.suite.name(),
                    "status": c.status.name(),
                    "message": c.status.message(),
                    "description": c.description,
                    "durationMs": c.duration.as_millis() as u64,
                })
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&serde_json::json!({ "checks": checks }))
            .expect("a report serialises");
        text.push('\n');
        text
    }

    fn render_junit(&self) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let ok = "writing XML to memory cannot fail";
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect(ok);
        let secs = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64());
        let total: std::time::Duration = self.checks.iter().map(|c| c.duration).sum();
        let mut root = BytesStart::new("testsuites");
        root.push_attribute(("name", "conformance"));
        root.push_attribute(("tests", self.checks.len().to_string().as_str()));
        root.push_attribute(("failures", self.failed().to_string().as_str()));
        root.push_attribute(("skipped", self.skipped().to_string().as_str()));
        root.push_attribute(("errors", "0"));
        root.push_attribute(("time", secs(total).as_str()));
        w.write_event(Event::Start(root)).expect(ok);
        for suite in Suite::ALL {
            let checks: Vec<&CheckResult> =
                self.checks.iter().filter(|c| c.suite == suite).collect();
            if checks.is_empty() {
                continue;
            }
            let count =
                |f: fn(&Status) -> bool| checks.iter().filter(|c| f(&c.status)).count().to_string();
            let mut ts = BytesStart::new("testsuite");
            ts.push_attribute(("name", suite.name()));
            ts.push_attribute(("tests", checks.len().to_string().as_str()));
            ts.push_attribute(("failures", count(|s| matches!(s, Status::Fail(_))).as_str()));
            ts.push_attribute((
                "skipped",
                count(|s| matches!(s, Status::Skipped(_))).as_str(),
            ));
            ts.push_attribute(("errors", "0"));
            ts.push_attribute((
                "time",
                secs(checks.iter().map(|c| c.duration).sum()).as_str(),
            ));
            w.write_event(Event::Start(ts)).expect(ok);
            for c in checks {
                let mut tc = BytesStart::new("testcase");
                tc.push_attribute(("name", c.id));
                tc.push_attribute((
                    "classname",
                    format!("conformance.{}", suite.name()).as_str(),
                ));
                tc.push_attribute(("time", secs(c.duration).as_str()));
                let child = match &c.status {
                    Status::Pass => None,
                    Status::Fail(m) => Some(("failure", m)),
                    Status::Skipped(m) => Some(("skipped", m)),
                };
                match child {
                    None => w.write_event(Event::Empty(tc)).expect(ok),
                    Some((tag, message)) => {
                        w.write_event(Event::Start(tc)).expect(ok);
                        let mut el = BytesStart::new(tag);
                        el.push_attribute(("message", message.as_str()));
                        w.write_event(Event::Empty(el)).expect(ok);
                        w.write_event(Event::End(BytesEnd::new("testcase")))
                            .expect(ok);
                    }
                }
            }
            w.write_event(Event::End(BytesEnd::new("testsuite")))
                .expect(ok);
        }
        w.write_event(Event::End(BytesEnd::new("testsuites")))
            .expect(ok);
        let mut text = String::from_utf8(w.into_inner()).expect("XML written from str is UTF-8");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::Reader;
    use std::time::Duration;

    fn sample() -> Report {
        let r = |id, suite, status| CheckResult {
            id,
            suite,
            description: "a check",
            status,
            duration: Duration::from_millis(12),
        };
        Report {
            checks: vec![
                r("export.type-format", Suite::Export, Status::Pass),
                r(
                    "lock.mutual-exclusion",
                    Suite::Lock,
                    Status::Fail("two holders <a> & \"b\" at once\nsecond line".into()),
                ),
                r(
                    "sync.round-trip",
                    Suite::Sync,
                    Status::Skipped("no sync service".into()),
                ),
            ],
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&sample().render(Format::Json)).unwrap();
        let checks = v["checks"].as_array().unwrap();
        assert_eq!(checks.len(), 3);
        assert_eq!(v.as_object().unwrap().len(), 1, "only `checks` at the top");
        for c in checks {
            for key in ["id", "suite", "status", "message"] {
                assert!(c[key].is_string(), "{key} missing in {c}");
            }
        }
        assert_eq!(checks[0]["status"], "pass");
        assert_eq!(checks[0]["message"], "");
        assert_eq!(checks[1]["status"], "fail");
        assert_eq!(checks[1]["suite"], "lock");
        assert!(
            checks[1]["message"]
                .as_str()
                .unwrap()
                .contains("two holders")
        );
        assert_eq!(checks[2]["status"], "skipped");
        assert_eq!(checks[2]["message"], "no sync service");
    }

    #[test]
    fn junit_is_well_formed_and_complete() {
        let xml = sample().render(Format::Junit);
        let mut reader = Reader::from_str(&xml);
        let (mut suites, mut cases, mut failures, mut skipped, mut depth) = (0, 0, 0, 0, 0i32);
        let mut failure_message = String::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Eof => break,
                Event::Start(e) => {
                    depth += 1;
                    match e.name().as_ref() {
                        b"testsuite" => suites += 1,
                        b"testcase" => cases += 1,
                        _ => {}
                    }
                }
                Event::Empty(e) => match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => {
                        failures += 1;
                        let a = e.try_get_attribute("message").unwrap().unwrap();
                        failure_message = a.unescape_value().unwrap().into_owned();
                    }
                    b"skipped" => skipped += 1,
                    _ => {}
                },
                Event::End(_) => depth -= 1,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
        assert_eq!((suites, cases, failures, skipped), (3, 3, 1, 1));
        assert_eq!(
            failure_message,
            "two holders <a> & \"b\" at once\nsecond line"
        );
    }

    #[test]
    fn human_table_is_aligned_with_a_summary() {
        let text = sample().render(Format::Human);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("ID"));
        let col = lines[0].find("SUITE").unwrap();
        for l in &lines[1..4] {
            assert_eq!(&l[col - 2..col], "  ", "aligned: {l}");
            assert_ne!(&l[col..col + 1], " ", "aligned: {l}");
        }
        assert!(lines[2].contains("FAIL") && lines[2].contains("second line"));
        assert_eq!(lines[4], "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse::<Format>().unwrap(), Format::Json);
        assert_eq!("JUnit".parse::<Format>().unwrap(), Format::Junit);
        assert_eq!("human".parse::<Format>().unwrap(), Format::Human);
        assert!("xml".parse::<Format>().is_err());
    }
}
