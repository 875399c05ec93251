//! Schedules: when a job runs, parsed and validated here rather than by the
//! service manager, as pure functions of the schedule and an injected `now`.
//!
//! Two syntaxes are accepted and told apart by shape ([`Schedule::parse`]):
//!
//! * systemd calendar events (`man systemd.time`, "Calendar Events"):
//!   `[WEEKDAYS] [[YYYY-]MM-DD] [HH:MM[:SS]] [TIME ZONE]` with `*`, lists
//!   `a,b`, ranges `a..b` and repetitions `a/step` in every field
//!   (`*:0/15`, `Mon..Fri 22:00`, `Sat,Sun *-*-01..07 04:00`,
//!   `2026-12-01`, `03:00 Europe/Paris`), and the shorthands `minutely`,
//!   `hourly`, `daily`, `weekly`, `monthly`, `quarterly`, `semiannually`,
//!   `yearly`/`annually`. Not supported (rejected with a message): `~`
//!   (days from the end of the month), fractional seconds, `@EPOCH`.
//! * cron's five fields `minute hour day-of-month month day-of-week` with
//!   `*`, lists, ranges, steps, month and day names and `7` for Sunday;
//!   when both day fields are restricted a day matches if either does.
//!   The words `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` are
//!   accepted; `@reboot` is not (a schedule needs times).
//!
//! A schedule without a time zone of its own runs in the zone of the time
//! it is asked about, so callers (and tests) choose it. Across a daylight
//! saving change a local time that does not exist is skipped, as systemd
//! does, and a local time that occurs twice fires once, at its first
//! occurrence. Searches stop after [`HORIZON_YEARS`] years.
//!
//! Nothing here reads the clock: [`due`] decides whether a job should run
//! now from its last run, for catch-up after downtime.
//!
//! ```
//! use backup_ops::schedule::{due, Due, Schedule};
//! use jiff::civil::date;
//!
//! let schedule = Schedule::parse("Mon..Fri 22:00 Europe/Paris")?;
//! assert_eq!(schedule.to_string(), "Mon..Fri *-*-* 22:00:00 Europe/Paris");
//!
//! // Friday 2026-03-27, 23:00: the next run is on Monday, after the
//! // switch to summer time.
//! let now = date(2026, 3, 27).at(23, 0, 0, 0).in_tz("Europe/Paris")?;
//! let next = schedule.next_after(now.clone()).unwrap();
//! assert_eq!(next.to_string(), "2026-03-30T22:00:00+02:00[Europe/Paris]");
//!
//! // Last run a week earlier: five runs were missed, the job runs once.
//! let last = date(2026, 3, 20).at(22, 0, 0, 0).in_tz("Europe/Paris")?;
//! match due(&schedule, Some(last.timestamp()), now.timestamp(), now.time_zone()) {
//!     Due::Yes { missed, scheduled } => {
//!         assert_eq!(missed, 5);
//!         assert_eq!(scheduled.to_string(), "2026-03-27T22:00:00+01:00[Europe/Paris]");
//!     }
//!     Due::No { .. } => unreachable!(),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod calendar;
mod cron;
mod cursor;
mod due;
mod field;
mod search;
mod systemd;

use std::fmt;
use std::str::FromStr;

use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Zoned};

pub use due::{due, Due, MISSED_CAP};
pub use search::HORIZON_YEARS;

/// The civil date (year, month, day) from which [`Schedule::interval`]
/// measures: fixed, so the interval never moves with the clock.
pub const INTERVAL_REFERENCE: (i16, i8, i8) = (2025, 1, 1);
/// At most this many scheduled instants are measured by
/// [`Schedule::interval`] (a week of a minutely schedule).
pub const INTERVAL_RUNS: usize = 10_080;

/// Which syntax a schedule was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Syntax {
    /// A systemd calendar event (`Mon..Fri 22:00`, `daily`).
    Calendar,
    /// Five cron fields or an `@` word (`30 2 * * 1-5`, `@daily`).
    Cron,
}

/// Why a schedule was rejected. Each message quotes the offending token
/// and the whole expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The schedule is empty or only blanks.
    #[error(
        "empty schedule: expected a calendar event such as \"daily\" or \
         \"Mon..Fri 22:00\", or five cron fields such as \"30 2 * * *\""
    )]
    Empty,
    /// A token does not parse as what it should be.
    #[error("invalid {field} {}: {reason}", at(.token, .text))]
    Invalid {
        /// What the token should have been: "hour", "day of week", ...
        field: &'static str,
        /// The offending token.
        token: String,
        /// The whole expression.
        text: String,
        /// What is wrong with the token.
        reason: String,
    },
    /// A token uses a feature of the syntax that backup does not support.
    #[error("{} is not supported: {reason}", at(.token, .text))]
    Unsupported {
        /// The offending token.
        token: String,
        /// The whole expression.
        text: String,
        /// What the feature is, or why it is left out.
        reason: &'static str,
    },
    /// The time zone named in the schedule is not in the time zone database.
    #[error("unknown time zone {name:?} in {text:?}: {reason}")]
    UnknownZone {
        /// The zone's name as written.
        name: String,
        /// The whole expression.
        text: String,
        /// Why the lookup failed.
        reason: String,
    },
}

/// `"25" in "*-*-* 25:00"`, or just `"@reboot"` when that is everything.
fn at(token: &str, text: &str) -> String {
    match token == text {
        true => format!("{token:?}"),
        false => format!("{token:?} in {text:?}"),
    }
}

/// A validated schedule. `Display` gives the normalized form
/// (`*-*-* 02:30:00`); [`Schedule::as_str`] the text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    normalized: String,
    syntax: Syntax,
    zone: Option<TimeZone>,
    spec: search::Spec,
}

impl Schedule {
    /// Parses a systemd calendar event or a cron expression: five
    /// whitespace-separated fields or a word starting with `@` are cron,
    /// anything else a calendar event.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let text = text.trim();
        let words = text.split_whitespace().count();
        let (syntax, spec, normalized, zone) = if words == 0 {
            return Err(ScheduleError::Empty);
        } else if text.starts_with('@') {
            if words > 1 {
                return Err(ScheduleError::Invalid {
                    field: "cron word",
                    token: text.to_string(),
                    text: text.to_string(),
                    reason: "expected a single word such as \"@daily\"".into(),
                });
            }
            let (spec, normalized) = cron::parse_alias(text)?;
            (Syntax::Cron, spec, normalized, None)
        } else if words == 5 {
            let (spec, normalized) = cron::parse(text)?;
            (Syntax::Cron, spec, normalized, None)
        } else if words > 4 {
            return Err(ScheduleError::Invalid {
                field: "expression",
                token: text.to_string(),
                text: text.to_string(),
                reason: format!(
                    "{words} words: expected five cron fields or a calendar event \
                     ([WEEKDAYS] [DATE] [TIME] [TIME ZONE])"
                ),
            });
        } else {
            let parsed = calendar::parse(text)?;
            let zone = parsed.zone.map(|(_, tz)| tz);
            (Syntax::Calendar, parsed.spec, parsed.normalized, zone)
        };
        Ok(Schedule {
            text: text.to_string(),
            normalized,
            syntax,
            zone,
            spec,
        })
    }

    /// The text this schedule was parsed from (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Which syntax it was written in.
    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// The time zone named in the schedule, if any; otherwise the schedule
    /// runs in the zone of the times it is given.
    pub fn time_zone(&self) -> Option<&TimeZone> {
        self.zone.as_ref()
    }

    fn zone_for(&self, t: &Zoned) -> TimeZone {
        self.zone.clone().unwrap_or_else(|| t.time_zone().clone())
    }

    /// The first scheduled instant strictly after `t`, in the schedule's
    /// zone (or `t`'s), or `None` if there is none within the horizon.
    // By value: the public signature, called with owned times across the
    // workspace; taking `&Zoned` would be an API change, not a lint fix.
    #[allow(clippy::needless_pass_by_value)]
    pub fn next_after(&self, t: Zoned) -> Option<Zoned> {
        let tz = self.zone_for(&t);
        let ts = t.timestamp();
        let mut civil = ts.to_zoned(tz.clone()).datetime();
        loop {
            civil = self.spec.next_civil(civil)?;
            let ambiguous = tz.to_ambiguous_zoned(civil);
            if matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
                continue;
            }
            // Earlier times of a repeated hour were handled before `t`.
            let zoned = ambiguous.earlier().ok()?;
            if zoned.timestamp() > ts {
                return Some(zoned);
            }
        }
    }

    /// The last scheduled instant at or before `t`, or `None` if there is
    /// none within the horizon.
    // By value, like `next_after`.
    #[allow(clippy::needless_pass_by_value)]
    pub fn last_at_or_before(&self, t: Zoned) -> Option<Zoned> {
        let tz = self.zone_for(&t);
        let ts = t.timestamp();
        let mut civil = ts.to_zoned(tz.clone()).datetime();
        let mut found = loop {
            let candidate = self.spec.prev_civil(civil)?;
            let ambiguous = tz.to_ambiguous_zoned(candidate);
            if !matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
                break ambiguous.earlier().ok()?;
            }
            civil = candidate.checked_sub(SignedDuration::from_secs(1)).ok()?;
        };
        // Inside a repeated hour, later local times may still precede `t`.
        while let Some(next) = self.next_after(found.clone()) {
            if next.timestamp() > ts {
                break;
            }
            found = next;
        }
        Some(found)
    }

    /// The schedule's interval: the longest wait between two consecutive
    /// scheduled instants, over the year that follows its first instant
    /// after a fixed reference date ([`INTERVAL_REFERENCE`], midnight in
    /// the schedule's zone or else `tz`), and at most [`INTERVAL_RUNS`]
    /// instants. It depends on the schedule (and zone) alone, never on the
    /// clock: `hourly` is an hour, `Mon..Fri 22:00` three days (Friday to
    /// Monday), `daily` in a zone with daylight saving 25 hours. `None`
    /// for a schedule that fires fewer than twice within the horizon.
    pub fn interval(&self, tz: &TimeZone) -> Option<SignedDuration> {
        let (y, m, d) = INTERVAL_REFERENCE;
        let start = jiff::civil::date(y, m, d)
            .at(0, 0, 0, 0)
            .to_zoned(self.zone.clone().unwrap_or_else(|| tz.clone()))
            .ok()?
            .checked_sub(SignedDuration::from_secs(1))
            .ok()?;
        let first = self.next_after(start)?;
        let end = first
            .timestamp()
            .checked_add(SignedDuration::from_hours(366 * 24))
            .ok()?;
        let (mut prev, mut longest) = (first, None::<SignedDuration>);
        for _ in 1..INTERVAL_RUNS {
            let Some(next) = self.next_after(prev.clone()) else {
                break;
            };
            let gap = next.timestamp().duration_since(prev.timestamp());
            longest = Some(longest.map_or(gap, |l| l.max(gap)));
            if next.timestamp() > end {
                break;
            }
            prev = next;
        }
        longest
    }

    /// The next `n` scheduled instants after `t` (fewer if the schedule
    /// ends), for showing a job's upcoming runs.
    pub fn upcoming(&self, t: Zoned, n: usize) -> Vec<Zoned> {
        let mut out: Vec<Zoned> = Vec::with_capacity(n.min(1024));
        let mut t = t;
        while out.len() < n {
            let Some(next) = self.next_after(t) else {
                break;
            };
            t = next.clone();
            out.push(next);
        }
        out
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Schedule, ScheduleError> {
        Schedule::parse(text)
    }
}

#[cfg(test)]
mod tests;
