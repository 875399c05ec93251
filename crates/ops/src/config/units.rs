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
    bytes(t)
        .ok_or_else(bad)?
        .map_err(|()| format!("{text:?} must be at least one byte per second"))
}

/// Parses a size in bytes: "2GiB", "500 MB", "64k" (binary and decimal
/// units; at least one byte).
pub fn size(text: &str) -> Result<u64, String> {
    bytes(text.trim())
        .ok_or_else(|| {
            format!("{text:?} is not a size (examples: \"500MiB\", \"2GiB\", \"10GB\")")
        })?
        .map_err(|()| format!("{text:?} must be at least one byte"))
}

/// Parses what a verification reads back: a percentage of the packs
/// ("5%", more than 0 and at most 100) or a size ("2GiB").
pub fn portion(text: &str) -> Result<backup_core::Portion, String> {
    let t = text.trim();
    let Some(p) = t.strip_suffix('%') else {
        return size(t).map(backup_core::Portion::Bytes).map_err(|_| {
            format!("{text:?} is neither a percentage of the packs (\"5%\") nor a size (\"2GiB\")")
        });
    };
    match p.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 100.0 => Ok(backup_core::Portion::Percent(v)),
        _ => Err(format!(
            "{text:?}: a percentage must be more than 0 and at most 100"
        )),
    }
}

/// A number with an optional unit: `None` if it does not parse,
/// `Some(Err)` if it is below one byte.
fn bytes(t: &str) -> Option<Result<u64, ()>> {
    let bad = || None;
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return bad(),
    };
    let v = n * mult;
    if !(v >= 1.0 && v.is_finite()) {
        return Some(Err(()));
    }
    Some(Ok(v as u64))
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

    #[test]
    fn sizes_and_portions() {
        use backup_core::Portion;
        assert_eq!(size("2GiB").unwrap(), 2 << 30);
        assert_eq!(size("500 MB").unwrap(), 500_000_000);
        assert!(size("0").is_err());
        assert!(size("lots").is_err());
        assert_eq!(portion("5%").unwrap(), Portion::Percent(5.0));
        assert_eq!(portion(" 12.5 % ").unwrap(), Portion::Percent(12.5));
        assert_eq!(portion("2GiB").unwrap(), Portion::Bytes(2 << 30));
        assert!(portion("0%").is_err());
        assert!(portion("101%").is_err());
        assert!(portion("-5%").is_err());
        assert!(portion("half")
            .unwrap_err()
            .contains("neither a percentage"));
    }
}
