//! systemd calendar events (`man systemd.time`, "Calendar Events"): the
//! subset operators use, `[WEEKDAYS] [[YYYY-]MM-DD] [HH:MM[:SS]] [TZ]` and
//! the shorthands `minutely` .. `yearly`.

use jiff::tz::TimeZone;

use super::field::{self, Kind, Set};
use super::search::{DayRule, Spec, YEAR_MAX, YEAR_MIN};
use super::ScheduleError;

const WEEKDAYS: &[(&str, u16)] = &[
    ("mon", 0),
    ("tue", 1),
    ("wed", 2),
    ("thu", 3),
    ("fri", 4),
    ("sat", 5),
    ("sun", 6),
    ("monday", 0),
    ("tuesday", 1),
    ("wednesday", 2),
    ("thursday", 3),
    ("friday", 4),
    ("saturday", 5),
    ("sunday", 6),
];
const WEEKDAY: Kind = Kind {
    name: "weekday",
    min: 0,
    max: 6,
    width: 1,
    range: "..",
    names: WEEKDAYS,
    numeric: false,
};
const YEAR: Kind = Kind {
    name: "year",
    min: YEAR_MIN,
    max: YEAR_MAX,
    width: 4,
    range: "..",
    names: &[],
    numeric: true,
};
const MONTH: Kind = Kind {
    name: "month",
    min: 1,
    max: 12,
    width: 2,
    range: "..",
    names: &[],
    numeric: true,
};
const DAY: Kind = Kind {
    name: "day",
    min: 1,
    max: 31,
    width: 2,
    range: "..",
    names: &[],
    numeric: true,
};
const HOUR: Kind = Kind {
    name: "hour",
    min: 0,
    max: 23,
    width: 2,
    range: "..",
    names: &[],
    numeric: true,
};
const MINUTE: Kind = Kind {
    name: "minute",
    min: 0,
    max: 59,
    width: 2,
    range: "..",
    names: &[],
    numeric: true,
};
const SECOND: Kind = Kind {
    name: "second",
    min: 0,
    max: 59,
    width: 2,
    range: "..",
    names: &[],
    numeric: true,
};

/// systemd's shorthands and what `systemd-analyze calendar` expands them to.
const SHORTHANDS: &[(&str, &str)] = &[
    ("minutely", "*-*-* *:*:00"),
    ("hourly", "*-*-* *:00:00"),
    ("daily", "*-*-* 00:00:00"),
    ("weekly", "Mon *-*-* 00:00:00"),
    ("monthly", "*-*-01 00:00:00"),
    ("quarterly", "*-01,04,07,10-01 00:00:00"),
    ("semiannually", "*-01,07-01 00:00:00"),
    ("yearly", "*-01-01 00:00:00"),
    ("annually", "*-01-01 00:00:00"),
];

/// A parsed calendar event.
pub(super) struct Parsed {
    pub spec: Spec,
    pub normalized: String,
    pub zone: Option<(String, TimeZone)>,
}

pub(super) fn parse(text: &str) -> Result<Parsed, ScheduleError> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let zone = match words.last() {
        Some(last) if words.len() > 1 && is_zone_like(last) => {
            let name = words.pop().unwrap_or_default();
            Some(zone(name, text)?)
        }
        _ => None,
    };
    let (spec, normalized) = match words.as_slice() {
        [word] if word.chars().all(|c| c.is_ascii_alphabetic()) && !is_weekday(word) => {
            let lower = word.to_ascii_lowercase();
            match SHORTHANDS.iter().find(|(name, _)| *name == lower) {
                Some((_, expanded)) => event(&expanded.split(' ').collect::<Vec<_>>(), expanded)?,
                None => return Err(invalid("expression", word, text, unknown_word(word))),
            }
        }
        words => event(words, text)?,
    };
    let normalized = match &zone {
        Some((name, _)) => format!("{normalized} {name}"),
        None => normalized,
    };
    Ok(Parsed {
        spec,
        normalized,
        zone,
    })
}

/// Parses `[WEEKDAYS] [DATE] [TIME]`.
fn event(words: &[&str], text: &str) -> Result<(Spec, String), ScheduleError> {
    let mut words = words;
    let mut weekdays = Set::range(0, 6);
    let mut weekday_text = None;
    if let Some(first) = words
        .first()
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()) && !w.contains(':'))
    {
        weekdays = field::parse(&first.replace('-', ".."), &WEEKDAY, text)?.set;
        weekday_text = Some(weekdays_text(&weekdays));
        words = &words[1..];
    }
    let (mut date, mut time) = (None, None);
    for word in words {
        if word.contains('~') {
            return Err(ScheduleError::Unsupported {
                token: word.to_string(),
                text: text.to_string(),
                reason: "\"~\" (days counted from the end of the month)",
            });
        }
        let out_of_order = if word.contains(':') {
            time.is_some()
        } else {
            date.is_some() || time.is_some()
        };
        if out_of_order {
            let reason = "expected [WEEKDAYS] [YYYY-MM-DD] [HH:MM[:SS]] [TIME ZONE], in this order";
            return Err(invalid("expression", word, text, reason.into()));
        }
        if word.contains(':') {
            time = Some(*word);
        } else {
            date = Some(*word);
        }
    }
    let dates: Option<Vec<&str>> = date.map(|d| d.split('-').collect());
    let (y, m, d) = match dates.as_deref() {
        None => ("*", "*", "*"),
        Some(&[y, m, d]) => (y, m, d),
        Some(&[m, d]) => ("*", m, d),
        Some(_) => {
            let reason = "expected YYYY-MM-DD or MM-DD".to_string();
            return Err(invalid("date", date.unwrap_or_default(), text, reason));
        }
    };
    let times: Option<Vec<&str>> = time.map(|t| t.split(':').collect());
    let (h, mi, s) = match times.as_deref() {
        None => ("0", "0", "0"),
        Some(&[h, mi]) => (h, mi, "0"),
        Some(&[h, mi, s]) => (h, mi, s),
        Some(_) => {
            let reason = "expected HH:MM or HH:MM:SS".to_string();
            return Err(invalid("time", time.unwrap_or_default(), text, reason));
        }
    };
    let year = field::parse(y, &YEAR, text)?;
    let month = field::parse(m, &MONTH, text)?;
    let day = field::parse(d, &DAY, text)?;
    let hour = field::parse(h, &HOUR, text)?;
    let minute = field::parse(mi, &MINUTE, text)?;
    let second = field::parse(s, &SECOND, text)?;
    let mut normalized = weekday_text.map(|w| w + " ").unwrap_or_default();
    normalized += &format!(
        "{}-{}-{} {}:{}:{}",
        year.text, month.text, day.text, hour.text, minute.text, second.text
    );
    let spec = Spec {
        years: year.set,
        months: month.set,
        days: day.set,
        weekdays,
        hours: hour.set,
        minutes: minute.set,
        seconds: second.set,
        day_rule: DayRule::All,
    };
    Ok((spec, normalized))
}

fn invalid(field: &'static str, token: &str, text: &str, reason: String) -> ScheduleError {
    ScheduleError::Invalid {
        field,
        token: token.to_string(),
        text: text.to_string(),
        reason,
    }
}

fn unknown_word(word: &str) -> String {
    let names: Vec<_> = SHORTHANDS.iter().map(|(n, _)| *n).collect();
    format!(
        "{word:?} is neither a weekday nor one of {}",
        names.join(", ")
    )
}

fn is_weekday(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    WEEKDAYS.iter().any(|(name, _)| *name == lower)
}

/// A last word that is not a date, time or weekday list is a time zone.
fn is_zone_like(word: &str) -> bool {
    let weekday_list = word
        .split([',', '.', '-'])
        .all(|w| w.is_empty() || is_weekday(w));
    word.contains(|c: char| c.is_ascii_alphabetic()) && !word.contains(':') && !weekday_list
}

fn zone(name: &str, text: &str) -> Result<(String, TimeZone), ScheduleError> {
    let tz = TimeZone::get(name).map_err(|e| ScheduleError::UnknownZone {
        name: name.to_string(),
        text: text.to_string(),
        reason: e.to_string(),
    })?;
    let name = tz.iana_name().unwrap_or(name).to_string();
    Ok((name, tz))
}

/// `Mon..Fri`, `Sat,Sun`: runs of three or more days become ranges.
pub(super) fn weekdays_text(set: &Set) -> String {
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut parts = Vec::new();
    let mut d = 0;
    while let Some(start) = set.next_from(d).filter(|&s| s <= 6) {
        let mut end = start;
        while end < 6 && set.contains(end + 1) {
            end += 1;
        }
        match end - start {
            0 => parts.push(NAMES[start as usize].to_string()),
            1 => parts.extend([NAMES[start as usize], NAMES[end as usize]].map(String::from)),
            _ => parts.push(format!(
                "{}..{}",
                NAMES[start as usize], NAMES[end as usize]
            )),
        }
        d = end + 1;
    }
    parts.join(",")
}
