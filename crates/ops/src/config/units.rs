//! Durations and rates as people write them in the configuration file.

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// Parses a calendar-aware span: "7d", "36h", "2 weeks", "1 month" (a day
/// is a calendar day: 23 or 25 hours across a clock change).
pub fn span(text: &str) -> Result<Span, String> {
    let span: Span = text.trim().parse().map_err(|_| {
        format!("{text:?} is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")")
    })?;
    if span.is_negative() || span.is_zero() {
        return Err(format!("{text:?} must be longer than zero"));
    }
    Ok(span)
}

/// Parses "7d", "12h", "1h30m", "2 weeks", "90s" (days are 24 hours).
pub fn duration(text: &str) -> Result<SignedDuration, String> {
    span(text)?
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("{text:?}: {e}"))
}

/// Parses a rate in bytes per second: "500KiB/s", "2 MiB/s", "1MB/s", "800k"
/// (the "/s" is optional; binary and decimal units).
pub fn rate(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a rate (examples: \"512KiB/s\", \"2MiB/s\", \"10MB/s\")");
    let t = text.trim();
    let t = t.strip_suffix("/s").unwrap_or(t).trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let v = n * mult;
    if !(v >= 1.0 && v.is_finite()) {
        return Err(format!("{text:?} must be at least one byte per second"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("7d").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(duration("1h30m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(
            duration("2 weeks").unwrap(),
            SignedDuration::from_hours(336)
        );
        assert!(duration("soon").is_err());
        assert!(duration("0s").is_err());
        assert!(duration("").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(rate("2MiB/s").unwrap(), 2 * 1024 * 1024);
        assert_eq!(rate("500 KiB/s").unwrap(), 500 * 1024);
        assert_eq!(rate("10MB/s").unwrap(), 10_000_000);
        assert_eq!(rate("800k").unwrap(), 800_000);
        assert!(rate("fast").is_err());
        assert!(rate("0KiB/s").is_err());
        assert!(rate("3 parsecs").is_err());
    }
}
