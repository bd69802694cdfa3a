//! ISO-8601 timestamps as swamp writes them (`Date.toISOString()`:
//! `2026-01-02T03:04:05.678Z`, UTC, milliseconds), and a tolerant parser for
//! what other clients may have written (any RFC 3339 offset or precision).

use std::time::SystemTime;

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// The current wall-clock time. (Guests read it from wasi:clocks.)
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from(SystemTime::now())
}

/// `t` in swamp's millisecond UTC form.
pub fn format_millis(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        // Formatting only fails for years outside 0..=9999: not a real clock.
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string())
}

/// `t` in UTC with full nanosecond precision (still valid ISO-8601); used
/// where a timestamp doubles as a change detector.
pub fn format_nanos(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000000Z".to_string())
}

/// Now, in swamp's form.
pub fn now_millis() -> String {
    format_millis(now())
}

/// Parse an ISO-8601 / RFC 3339 timestamp; `None` when it is not one.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .ok()
}

/// Milliseconds from `earlier` to `later`, zero when `later` is not later
/// (a clock behind ours never makes an age negative).
pub fn millis_between(earlier: OffsetDateTime, later: OffsetDateTime) -> u64 {
    let d: Duration = later - earlier;
    if d.is_negative() {
        0
    } else {
        u64::try_from(d.whole_milliseconds()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_to_iso_string() {
        let t = parse("2026-03-04T05:06:07.089Z").unwrap();
        assert_eq!(format_millis(t), "2026-03-04T05:06:07.089Z");
        let s = now_millis();
        assert_eq!(s.len(), 24);
        assert!(s.ends_with('Z'));
        assert!(parse(&s).is_some());
    }

    #[test]
    fn parses_offsets_and_precisions() {
        let a = parse("2026-03-04T07:06:07+02:00").unwrap();
        let b = parse("2026-03-04T05:06:07.000000Z").unwrap();
        assert_eq!(a, b);
        assert!(parse("yesterday").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn nanos_round_trip() {
        let t = parse("2026-03-04T05:06:07.123456789Z").unwrap();
        assert_eq!(format_nanos(t), "2026-03-04T05:06:07.123456789Z");
        assert_eq!(parse(&format_nanos(t)).unwrap(), t);
    }

    #[test]
    fn ages_never_negative() {
        let a = parse("2026-01-01T00:00:00.000Z").unwrap();
        let b = parse("2026-01-01T00:00:01.500Z").unwrap();
        assert_eq!(millis_between(a, b), 1500);
        assert_eq!(millis_between(b, a), 0);
    }
}
