//! Catch-up: is a job due now, given when it last ran?

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::Schedule;

/// The most missed runs [`due`] counts; past it `missed` stays here.
pub const MISSED_CAP: u32 = 1000;

/// Whether a job should run now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Due {
    /// Run once now. `missed` scheduled instants fell since the last run
    /// (at most [`MISSED_CAP`]; 0 if the job never ran), `scheduled` is the
    /// latest of them (`now` if the job never ran).
    Yes {
        /// Scheduled instants since the last run, at most [`MISSED_CAP`].
        missed: u32,
        /// The latest of them, or `now` if the job never ran.
        scheduled: Zoned,
    },
    /// Nothing was scheduled since the last run; `next` is the next
    /// instant, if the schedule has one.
    No {
        /// The next scheduled instant, if any.
        next: Option<Zoned>,
    },
}

/// Decides whether a job is due: it is if a scheduled instant falls in
/// `(last_run, now]`. After downtime it is due once, however many instants
/// were missed. A job that never ran is due now. `zone` is the zone of a
/// schedule that names none (normally the system's).
pub fn due(
    schedule: &Schedule,
    last_run: Option<Timestamp>,
    now: Timestamp,
    zone: &TimeZone,
) -> Due {
    let now = now.to_zoned(zone.clone());
    let Some(last_run) = last_run else {
        return Due::Yes {
            missed: 0,
            scheduled: now,
        };
    };
    let mut missed = 0;
    let mut latest = None;
    let mut cursor = last_run.to_zoned(zone.clone());
    while missed < MISSED_CAP {
        match schedule.next_after(cursor) {
            Some(next) if next.timestamp() <= now.timestamp() => {
                missed += 1;
                cursor = next.clone();
                latest = Some(next);
            }
            _ => break,
        }
    }
    let Some(latest) = latest else {
        return Due::No {
            next: schedule.next_after(now),
        };
    };
    let scheduled = match missed {
        MISSED_CAP => schedule.last_at_or_before(now).unwrap_or(latest),
        _ => latest,
    };
    Due::Yes { missed, scheduled }
}
