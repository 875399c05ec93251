//! cron's five fields `minute hour day-of-month month day-of-week`
//! (crontab(5)) and the `@hourly` .. `@yearly` words.

use super::field::{self, Kind, Set};
use super::search::{DayRule, Spec, YEAR_MAX, YEAR_MIN};
use super::ScheduleError;

const MONTHS: &[(&str, u16)] = &[
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];
const DAYS: &[(&str, u16)] = &[
    ("sun", 0),
    ("mon", 1),
    ("tue", 2),
    ("wed", 3),
    ("thu", 4),
    ("fri", 5),
    ("sat", 6),
];
const FIELDS: [Kind; 5] = [
    Kind {
        name: "minute",
        min: 0,
        max: 59,
        width: 1,
        range: "-",
        names: &[],
        numeric: true,
    },
    Kind {
        name: "hour",
        min: 0,
        max: 23,
        width: 1,
        range: "-",
        names: &[],
        numeric: true,
    },
    Kind {
        name: "day of month",
        min: 1,
        max: 31,
        width: 1,
        range: "-",
        names: &[],
        numeric: true,
    },
    Kind {
        name: "month",
        min: 1,
        max: 12,
        width: 1,
        range: "-",
        names: MONTHS,
        numeric: true,
    },
    Kind {
        name: "day of week",
        min: 0,
        max: 7,
        width: 1,
        range: "-",
        names: DAYS,
        numeric: true,
    },
];

/// The `@` words and the fields they stand for.
const ALIASES: &[(&str, &str)] = &[
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// Parses an `@` word (`word` is the whole expression).
pub(super) fn parse_alias(word: &str) -> Result<(Spec, String), ScheduleError> {
    let lower = word.to_ascii_lowercase();
    if lower == "@reboot" {
        return Err(ScheduleError::Unsupported {
            token: word.to_string(),
            text: word.to_string(),
            reason: "a schedule needs times; start the job at boot from the service manager",
        });
    }
    match ALIASES.iter().find(|(name, _)| *name == lower) {
        Some((_, fields)) => parse(fields),
        None => {
            let names: Vec<_> = ALIASES.iter().map(|(n, _)| *n).collect();
            Err(ScheduleError::Invalid {
                field: "cron word",
                token: word.to_string(),
                text: word.to_string(),
                reason: format!("expected one of {}", names.join(", ")),
            })
        }
    }
}

/// Parses five whitespace-separated fields.
pub(super) fn parse(text: &str) -> Result<(Spec, String), ScheduleError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = words.as_slice() else {
        return Err(ScheduleError::Invalid {
            field: "cron expression",
            token: text.to_string(),
            text: text.to_string(),
            reason: format!("expected 5 fields, got {}", words.len()),
        });
    };
    let mut parsed = Vec::with_capacity(5);
    for (word, kind) in [minute, hour, dom, month, dow].into_iter().zip(&FIELDS) {
        parsed.push(field::parse(word, kind, text)?);
    }
    let normalized = parsed
        .iter()
        .map(|f| f.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    // Sunday is 0 or 7 in cron, 6 counting from Monday.
    let mut weekdays = Set::empty(0);
    for d in (0..=7).filter(|&d| parsed[4].set.contains(d)) {
        weekdays.insert(((d + 6) % 7) as u16);
    }
    // crontab(5): "If both fields are restricted (i.e., don't start with *),
    // the command will be run when either field matches the current time."
    let day_rule = match (parsed[2].star, parsed[4].star) {
        (false, false) => DayRule::Any,
        _ => DayRule::All,
    };
    let spec = Spec {
        years: Set::range(YEAR_MIN, YEAR_MAX),
        months: parsed[3].set,
        days: parsed[2].set,
        weekdays,
        hours: parsed[1].set,
        minutes: parsed[0].set,
        seconds: Set::range(0, 0),
        day_rule,
    };
    Ok((spec, normalized))
}
