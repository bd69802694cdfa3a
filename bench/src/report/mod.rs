//! The report step: merge every fragment under `results/parts/` into
//! `latest.json`, `latest.md` and `latest.svg`, and put the table and the
//! chart into README.md between its bench markers.

pub mod svg;

use crate::fragment::Fragment;
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::path::Path;

pub const BEGIN: &str = "<!-- BEGIN BENCH -->";
pub const END: &str = "<!-- END BENCH -->";

/// Every fragment in `parts`, by figure letter.
pub fn read_parts(parts: &Path) -> Result<Vec<Fragment>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(parts)
        .with_context(|| format!("no fragments: cannot read {}", parts.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let f: Fragment = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a fragment ({{figure, title, measurements, comparisons, notes}})",
                path.display()
            )
        })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if f.figure != stem {
            bail!(
                "{} says it is figure {:?}; the file name says {stem:?}",
                path.display(),
                f.figure
            );
        }
        out.push(f);
    }
    out.sort_by(|a, b| a.figure.cmp(&b.figure));
    if out.is_empty() {
        bail!(
            "no fragments in {}: run the benchmarks first",
            parts.display()
        );
    }
    Ok(out)
}

fn value(v: f64) -> String {
    if (v.fract() == 0.0 && v.abs() < 1e9) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The markdown table of all figures.
pub fn table(figures: &[Fragment]) -> String {
    let mut md = String::from(
        "| figure | measurement | value | comparison | ratio | target | met |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for f in figures {
        for m in &f.measurements {
            md += &format!(
                "| {} | {} | {} {} | | | | |\n",
                f.figure,
                cell(&m.name),
                value(m.value),
                m.unit
            );
        }
        for c in &f.comparisons {
            let met = match c.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            };
            md += &format!(
                "| {} | | | {} | {:.3} | {} | {met} |\n",
                f.figure,
                cell(&c.name),
                c.ratio,
                cell(&c.target)
            );
        }
    }
    md
}

/// When each figure was measured: those whose part records it by date, the
/// rest as of an earlier run (`date`, the report's own, is when the parts
/// were merged).
fn measured_when(figures: &[Fragment], date: &str) -> String {
    let dated: Vec<String> = figures
        .iter()
        .filter_map(|f| f.measured.as_ref().map(|m| format!("{} on {m}", f.figure)))
        .collect();
    let undated: Vec<&str> = figures
        .iter()
        .filter(|f| f.measured.is_none())
        .map(|f| f.figure.as_str())
        .collect();
    if dated.is_empty() {
        return date.to_string();
    }
    let mut parts = dated;
    if !undated.is_empty() {
        parts.push(format!(
            "{} in an earlier run of make bench (their parts carry no date)",
            undated.join(", ")
        ));
    }
    format!("{} (merged {date})", parts.join("; "))
}

/// `latest.md`: machine, date, the table, then each figure's title and notes.
pub fn markdown(figures: &[Fragment], machine: &str, date: &str) -> String {
    let when = measured_when(figures, date);
    let mut md = format!("# Benchmarks\n\nMachine: {machine}  \nDate: {when}\n\n");
    md += &table(figures);
    md += "\n## Figures\n\n";
    for f in figures {
        md += &format!("**{}. {}** {}\n\n", f.figure, f.title, f.notes);
    }
    md
}

/// Replace the text between the bench markers of `readme`.
pub fn splice_readme(readme: &str, section: &str) -> Result<String> {
    let (Some(b), Some(e)) = (readme.find(BEGIN), readme.find(END)) else {
        bail!("README.md has no {BEGIN} ... {END} markers");
    };
    if e < b {
        bail!("README.md has {END} before {BEGIN}");
    }
    Ok(format!(
        "{}{BEGIN}\n{section}{}",
        &readme[..b],
        &readme[e..]
    ))
}

/// Merge the fragments under `results/parts` and write the outputs; update
/// `readme` (README.md).
pub fn write(results: &Path, readme: &Path, machine: &str, date: &str) -> Result<()> {
    let figures = read_parts(&results.join("parts"))?;
    let mut map = Map::new();
    for f in &figures {
        map.insert(f.figure.clone(), serde_json::to_value(f)?);
    }
    let latest = json!({"machine": machine, "date": date, "figures": Value::Object(map)});
    std::fs::write(
        results.join("latest.json"),
        serde_json::to_string_pretty(&latest)? + "\n",
    )?;
    std::fs::write(results.join("latest.md"), markdown(&figures, machine, date))?;
    let caption = format!("swamp datastore components: measured ÷ target ({date})");
    std::fs::write(results.join("latest.svg"), svg::chart(&figures, &caption))?;

    let letters: Vec<&str> = figures.iter().map(|f| f.figure.as_str()).collect();
    let when = measured_when(&figures, date);
    let section = format!(
        "Measured by `make bench` on {machine}, {when}; figures {}. The machine is shared \
         (other builds ran during the run), so absolute times are noisy; each ratio compares \
         sides measured in the same run, alternating where the figure says so. Notes on each \
         figure (what was measured, and what a missed target costs and why) are in \
         [`bench/results/latest.md`](bench/results/latest.md), the numbers in \
         [`bench/results/latest.json`](bench/results/latest.json).\n\n\
         ![measured ÷ target](bench/results/latest.svg)\n\n{}",
        letters.join(", "),
        table(&figures)
    );
    let text = std::fs::read_to_string(readme)
        .with_context(|| format!("cannot read {}", readme.display()))?;
    std::fs::write(readme, splice_readme(&text, &section)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fragment::Comparison;

    #[test]
    fn the_readme_section_is_replaced_and_nothing_else() {
        let readme = format!("intro\n{BEGIN}\nold table\n{END}\noutro\n");
        let out = splice_readme(&readme, "new table\n").unwrap();
        assert_eq!(out, format!("intro\n{BEGIN}\nnew table\n{END}\noutro\n"));
        assert!(splice_readme("no markers", "x").is_err());
    }

    #[test]
    fn fragments_merge_into_table_json_and_chart() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Fragment::new("a", "A");
        a.measure("op | native", 12.5, "µs");
        a.compare(Comparison::at_most("component ÷ native", 1.6, 1.3));
        a.write(dir.path()).unwrap();
        // A fragment written by another crate, by hand.
        std::fs::write(
            dir.path().join("parts/d.json"),
            r#"{"figure": "d", "title": "D", "measurements": [],
                "comparisons": [{"name": "vs aws", "ratio": 0.9, "target": "<= 1.0", "met": true}], "notes": "n"}"#,
        )
        .unwrap();
        let readme = dir.path().join("README.md");
        std::fs::write(&readme, format!("x\n{BEGIN}\n{END}\n")).unwrap();
        write(dir.path(), &readme, "a machine", "2026-01-01").unwrap();

        let latest: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("latest.json")).unwrap())
                .unwrap();
        assert_eq!(latest["machine"], "a machine");
        assert_eq!(latest["figures"]["a"]["comparisons"][0]["met"], false);
        assert_eq!(latest["figures"]["d"]["comparisons"][0]["ratio"], 0.9);
        let md = std::fs::read_to_string(dir.path().join("latest.md")).unwrap();
        assert!(md.contains("| a | op \\| native | 12.5 µs |"), "{md}");
        assert!(
            md.contains("| a | | | component ÷ native | 1.600 | <= 1.3 | **no** |"),
            "{md}"
        );
        assert!(
            md.contains("| d | | | vs aws | 0.900 | <= 1.0 | yes |"),
            "{md}"
        );
        let svg = std::fs::read_to_string(dir.path().join("latest.svg")).unwrap();
        assert_eq!(svg.matches("<rect x=").count(), 2);
        let readme = std::fs::read_to_string(&readme).unwrap();
        assert!(readme.contains("a machine, 2026-01-01") && readme.contains("latest.svg"));
        assert!(readme.ends_with(&format!("{END}\n")));
    }

    #[test]
    fn a_mislabelled_fragment_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("parts")).unwrap();
        std::fs::write(
            dir.path().join("parts/e.json"),
            serde_json::to_string(&Fragment::new("f", "F")).unwrap(),
        )
        .unwrap();
        let err = read_parts(&dir.path().join("parts"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("e.json") && err.contains("\"f\""), "{err}");
        std::fs::write(dir.path().join("parts/e.json"), "{}").unwrap();
        let err = format!("{:#}", read_parts(&dir.path().join("parts")).unwrap_err());
        assert!(err.contains("is not a fragment"), "{err}");
    }
}
