//! Schedules as a systemd timer's `OnCalendar=` values.
//!
//! A calendar event passes through in its normalized form (which systemd
//! accepts and normalizes to the same text). Cron's five fields are
//! rebuilt from their value sets, field by field:
//!
//! | cron                    | `OnCalendar=`                        |
//! |-------------------------|--------------------------------------|
//! | `*/15 2 * * 1-5`        | `Mon..Fri *-*-* 02:00/15:00`         |
//! | `0 3 1,15 * *`          | `*-*-01,15 03:00:00`                 |
//! | `0 0 * jan,jul sun`     | `Sun *-01,07-* 00:00:00`             |
//! | `0 4 1-7 * sat`         | `*-*-01..07 04:00:00` and `Sat *-*-* 04:00:00` |
//!
//! A field holding every value is `*`; one arithmetic progression of three
//! or more values that runs to the end of the field is `a/step`; anything
//! else is a list of values and ranges (`a..b` for three or more in a row).
//! When both day of month and day of week are restricted cron runs on a
//! day matching either, while systemd wants both: that gives two events,
//! and a timer with several `OnCalendar=` fires on their union.

use std::fmt::Write as _;

use super::calendar::weekdays_text;
use super::field::Set;
use super::search::{DayRule, Spec, YEAR_MAX, YEAR_MIN};
use super::{Schedule, Syntax};

impl Schedule {
    /// The `OnCalendar=` values of a systemd timer that elapses exactly
    /// when this schedule does: one, or two for a cron expression whose
    /// day of month and day of week are both restricted.
    ///
    /// ```
    /// use backup_ops::schedule::Schedule;
    ///
    /// let cron = Schedule::parse("*/15 2 * * 1-5")?;
    /// assert_eq!(cron.on_calendar(), ["Mon..Fri *-*-* 02:00/15:00"]);
    /// let calendar = Schedule::parse("Mon..Fri 22:00 Europe/Paris")?;
    /// assert_eq!(calendar.on_calendar(), ["Mon..Fri *-*-* 22:00:00 Europe/Paris"]);
    /// # Ok::<(), backup_ops::schedule::ScheduleError>(())
    /// ```
    pub fn on_calendar(&self) -> Vec<String> {
        match self.syntax {
            Syntax::Calendar => vec![self.normalized.clone()],
            Syntax::Cron => from_spec(&self.spec),
        }
    }
}

/// Calendar events whose union matches `spec`.
fn from_spec(spec: &Spec) -> Vec<String> {
    match spec.day_rule {
        DayRule::All => vec![event(spec, &spec.days, &spec.weekdays)],
        DayRule::Any => {
            let by_day = event(spec, &spec.days, &Set::range(0, 6));
            let by_weekday = event(spec, &Set::range(1, 31), &spec.weekdays);
            if by_day == by_weekday {
                vec![by_day]
            } else {
                vec![by_day, by_weekday]
            }
        }
    }
}

fn event(spec: &Spec, days: &Set, weekdays: &Set) -> String {
    let mut out = String::new();
    if !is_full(weekdays, 0, 6) {
        out = weekdays_text(weekdays) + " ";
    }
    write!(
        out,
        "{}-{}-{} {}:{}:{}",
        values(&spec.years, YEAR_MIN, YEAR_MAX, 4),
        values(&spec.months, 1, 12, 2),
        values(days, 1, 31, 2),
        values(&spec.hours, 0, 23, 2),
        values(&spec.minutes, 0, 59, 2),
        values(&spec.seconds, 0, 59, 2),
    )
    .unwrap();
    out
}

fn is_full(set: &Set, min: u16, max: u16) -> bool {
    (min..=max).all(|v| set.contains(i32::from(v)))
}

/// One field's values as systemd writes them, numbers zero-padded to
/// `width`.
fn values(set: &Set, min: u16, max: u16, width: usize) -> String {
    let members: Vec<u16> = (min..=max)
        .filter(|&v| set.contains(i32::from(v)))
        .collect();
    if members.len() == usize::from(max - min + 1) {
        return "*".into();
    }
    if let [first, second, .., last] = members[..] {
        let step = second - first;
        let progression = members.windows(2).all(|w| w[1] - w[0] == step);
        if step > 1 && progression && last + step > max {
            return format!("{first:0width$}/{step}");
        }
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < members.len() {
        let mut j = i;
        while j + 1 < members.len() && members[j + 1] == members[j] + 1 {
            j += 1;
        }
        let (a, b) = (members[i], members[j]);
        if j - i >= 2 {
            parts.push(format!("{a:0width$}..{b:0width$}"));
            i = j + 1;
        } else {
            parts.push(format!("{a:0width$}"));
            i += 1;
        }
    }
    parts.join(",")
}
