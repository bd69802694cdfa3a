//! The chart: one horizontal bar per comparison that has a target, drawn
//! as ratio ÷ bound, so the line at 1 is every target and a bar past it is
//! a miss.
//!
//! Hand-written SVG rather than a plotting crate: the chart is a few dozen
//! rectangles and labels, and `plotters` (the usual choice) would add a
//! font stack and a minute of build time on this two-core machine for
//! nothing this file cannot say in a hundred lines.

use crate::fragment::Fragment;
use std::fmt::Write;

/// Bars are drawn up to this multiple of the target; longer ones are cut
/// and marked (their value is in the label).
const CAP: f64 = 3.0;
const ROW: f64 = 26.0;
const LABEL_W: f64 = 470.0;
const BAR_W: f64 = 380.0;
const TOP: f64 = 56.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// The chart of `figures` (in order), titled with `caption`.
pub fn chart(figures: &[Fragment], caption: &str) -> String {
    let rows: Vec<(String, f64, f64, String)> = figures
        .iter()
        .flat_map(|f| {
            f.comparisons.iter().filter_map(move |c| {
                let bound = c.bound().filter(|b| *b > 0.0)?;
                Some((
                    format!("{}: {}", f.figure, c.name),
                    c.ratio / bound,
                    c.ratio,
                    c.target.clone(),
                ))
            })
        })
        .collect();
    let width = LABEL_W + BAR_W + 110.0;
    let height = TOP + ROW * rows.len() as f64 + 30.0;
    let x0 = LABEL_W;
    let scale = BAR_W / CAP;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(caption)
    );
    let _ = writeln!(
        svg,
        r##"<text x="10" y="40" fill="#555">measured ÷ target bound: left of the line meets the target (green), right misses it (red); bars cut at {CAP}×</text>"##
    );
    for (i, (label, norm, ratio, target)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let met = *norm <= 1.0;
        let color = if met { "#3a9d5d" } else { "#d0453a" };
        let w = (norm.clamp(0.0, CAP) * scale).max(1.0);
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{:.1}">{}</text>"#,
            y + 16.0,
            escape(&shorten(label, 72))
        );
        let _ = writeln!(
            svg,
            r#"<rect x="{x0}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}"/>"#,
            y + 5.0,
            ROW - 10.0
        );
        let cut = if *norm > CAP { " ▶" } else { "" };
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{ratio:.3} ({}){cut}</text>"#,
            x0 + w + 6.0,
            y + 16.0,
            escape(target)
        );
    }
    let line_x = x0 + scale;
    let bottom = TOP + ROW * rows.len() as f64;
    let _ = writeln!(
        svg,
        r#"<line x1="{line_x}" y1="{}" x2="{line_x}" y2="{bottom}" stroke="black" stroke-dasharray="4 3"/>"#,
        TOP - 4.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="{line_x}" y="{:.1}" text-anchor="middle">target</text>"#,
        bottom + 16.0
    );
    let _ = writeln!(svg, "</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fragment::Comparison;

    #[test]
    fn one_bar_per_targeted_comparison_coloured_by_outcome() {
        let mut f = Fragment::new("a", "t");
        f.compare(Comparison::at_most("fast & good", 0.5, 1.0));
        f.compare(Comparison::at_most("slow", 2.6, 1.3));
        f.compare(Comparison::informative("just a ratio", 7.0));
        let svg = chart(&[f], "caption <x>");
        assert_eq!(svg.matches("<rect x=").count(), 2, "{svg}");
        assert_eq!(svg.matches("#3a9d5d").count(), 1);
        assert_eq!(svg.matches("#d0453a").count(), 1);
        assert!(svg.contains("a: fast &amp; good"));
        assert!(svg.contains("caption &lt;x&gt;"));
        assert!(!svg.contains("just a ratio"));
        // 2.6 against 1.3 is twice the bound: two thirds of the bar width.
        assert!(
            svg.contains(&format!("width=\"{:.1}\"", 2.0 * BAR_W / CAP)),
            "{svg}"
        );
    }
}
