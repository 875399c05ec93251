//! Finding the next (or previous) matching civil time, field by field.
//!
//! The search jumps: a month that does not match moves the cursor to the
//! next month in the set, an hour to the next hour, and so on, so the cost
//! is a handful of steps per matching instant, and at most one step per day
//! for a schedule that never matches (bounded by [`HORIZON_YEARS`]).

use jiff::civil::{self, DateTime};

use super::cursor::{days_in_month, Cursor};
use super::field::Set;

/// How far a schedule without explicit years is searched before giving up.
/// Long enough for rare combinations such as `Mon *-02-29` (every 28 years
/// or so).
pub const HORIZON_YEARS: i32 = 60;

/// The earliest and latest years a schedule can name (systemd's range).
pub(super) const YEAR_MIN: u16 = 1970;
pub(super) const YEAR_MAX: u16 = 2199;

/// How day of month and day of week combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DayRule {
    /// Both must match (systemd; cron when one of them is `*`).
    All,
    /// Either may match (cron when both are restricted).
    Any,
}

/// The matcher: one set per field. Weekdays count from Monday = 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Spec {
    pub years: Set,
    pub months: Set,
    pub days: Set,
    pub weekdays: Set,
    pub hours: Set,
    pub minutes: Set,
    pub seconds: Set,
    pub day_rule: DayRule,
}

impl Spec {
    fn any_year(&self) -> bool {
        self.years == Set::range(YEAR_MIN, YEAR_MAX)
    }

    fn day_matches(&self, y: i32, mo: i32, d: i32) -> bool {
        let weekday = || {
            let date = civil::date(y as i16, mo as i8, d as i8);
            let wd = date.weekday().to_monday_zero_offset();
            self.weekdays.contains(i32::from(wd))
        };
        match self.day_rule {
            DayRule::All => self.days.contains(d) && weekday(),
            DayRule::Any => self.days.contains(d) || weekday(),
        }
    }

    /// The first matching civil time strictly after `after` (whole
    /// seconds), or `None` within the horizon.
    pub(super) fn next_civil(&self, after: DateTime) -> Option<DateTime> {
        let start = after.checked_add(jiff::SignedDuration::from_secs(1)).ok()?;
        let mut c = Cursor::from(start);
        let last = if self.any_year() {
            c.y + HORIZON_YEARS
        } else {
            i32::from(YEAR_MAX)
        };
        loop {
            match self.years.next_from(c.y) {
                Some(y) if y <= last => {
                    if y != c.y {
                        c = Cursor::first_second(y);
                    }
                }
                _ => return None,
            }
            match self.months.next_from(c.mo) {
                None => {
                    c.next_year();
                    continue;
                }
                Some(mo) if mo != c.mo => {
                    (c.mo, c.d) = (mo, 1);
                    c.set_time(0, 0, 0);
                }
                Some(_) => {}
            }
            let dim = days_in_month(c.y, c.mo);
            match (c.d..=dim).find(|&d| self.day_matches(c.y, c.mo, d)) {
                None => {
                    c.next_month();
                    continue;
                }
                Some(d) if d != c.d => {
                    c.d = d;
                    c.set_time(0, 0, 0);
                }
                Some(_) => {}
            }
            match self.hours.next_from(c.h) {
                None => {
                    c.next_day();
                    continue;
                }
                Some(h) if h != c.h => c.set_time(h, 0, 0),
                Some(_) => {}
            }
            match self.minutes.next_from(c.mi) {
                None => {
                    c.next_hour();
                    continue;
                }
                Some(mi) if mi != c.mi => c.set_time(c.h, mi, 0),
                Some(_) => {}
            }
            match self.seconds.next_from(c.s) {
                None => c.next_minute(),
                Some(s) => {
                    c.s = s;
                    return Some(c.datetime());
                }
            }
        }
    }

    /// The last matching civil time at or before `at` (whole seconds), or
    /// `None` within the horizon.
    pub(super) fn prev_civil(&self, at: DateTime) -> Option<DateTime> {
        let mut c = Cursor::from(at);
        let first = if self.any_year() {
            c.y - HORIZON_YEARS
        } else {
            i32::from(YEAR_MIN)
        };
        loop {
            match self.years.prev_from(c.y) {
                Some(y) if y >= first => {
                    if y != c.y {
                        c = Cursor::last_second(y);
                    }
                }
                _ => return None,
            }
            match self.months.prev_from(c.mo) {
                None => {
                    c.prev_year();
                    continue;
                }
                Some(mo) if mo != c.mo => {
                    (c.mo, c.d) = (mo, days_in_month(c.y, mo));
                    c.set_time(23, 59, 59);
                }
                Some(_) => {}
            }
            match (1..=c.d).rev().find(|&d| self.day_matches(c.y, c.mo, d)) {
                None => {
                    c.prev_month();
                    continue;
                }
                Some(d) if d != c.d => {
                    c.d = d;
                    c.set_time(23, 59, 59);
                }
                Some(_) => {}
            }
            match self.hours.prev_from(c.h) {
                None => {
                    c.prev_day();
                    continue;
                }
                Some(h) if h != c.h => c.set_time(h, 59, 59),
                Some(_) => {}
            }
            match self.minutes.prev_from(c.mi) {
                None => {
                    c.prev_hour();
                    continue;
                }
                Some(mi) if mi != c.mi => c.set_time(c.h, mi, 59),
                Some(_) => {}
            }
            match self.seconds.prev_from(c.s) {
                None => c.prev_minute(),
                Some(s) => {
                    c.s = s;
                    return Some(c.datetime());
                }
            }
        }
    }
}
