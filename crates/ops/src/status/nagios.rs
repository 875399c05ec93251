//! `status --nagios`: one line in the Nagios plugin format
//! (`BACKUP OK - ... | perfdata`) and its state, from a [`Status`].
//!
//! Per job, on the achieved RPO (the age of the job's newest snapshot, worst
//! dataset): older than the critical age is CRITICAL, older than the warning
//! age WARNING. A last run that failed is at least WARNING, whatever the
//! age. A dataset with no snapshot at all is CRITICAL once the job has run,
//! UNKNOWN if it never ran; no catalog, or no thresholds, is UNKNOWN, and so
//! is an unreachable repository. The worst state wins, in the order
//! OK < UNKNOWN < WARNING < CRITICAL (monitoring-plugins' `max_state_alt`).
//!
//! Ages not given are derived from the job's schedule alone, never from the
//! clock: WARNING when the snapshot is older than [`WARN_MISSED`] times the
//! schedule's interval ([`Schedule::interval`], the longest wait between two
//! scheduled runs), so one run may be missed or still shipping, CRITICAL
//! older than [`CRIT_MISSED`] times. The perfdata thresholds are therefore
//! the same at every check.
//!
//! A job with a drill table whose drill is flagged (see
//! [`DrillStatus`](super::DrillStatus): its last pass older than the drill
//! schedule allows, no pass at all, or a failed last drill) is WARNING,
//! CRITICAL when the last pass is more than twice the allowed age. A job
//! without a drill table is not judged on drills.
//!
//! A job whose last verification found errors is CRITICAL until a later
//! verification passes; one with `check_every` whose verification is
//! overdue (or that was never verified) is WARNING (see
//! [`VerifyStatus`](super::VerifyStatus)).

use jiff::tz::TimeZone;

use super::{human_age, JobStatus, Status};
use crate::schedule::Schedule;

/// Intervals of the schedule after which a snapshot is WARNING by default.
pub const WARN_MISSED: i64 = 2;
/// Intervals of the schedule after which a snapshot is CRITICAL by default.
pub const CRIT_MISSED: i64 = 3;

/// A Nagios plugin state; its exit code is the discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum NagiosState {
    /// 0.
    Ok = 0,
    /// 1.
    Warning = 1,
    /// 2.
    Critical = 2,
    /// 3.
    Unknown = 3,
}

impl NagiosState {
    /// The plugin's exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// "OK", "WARNING", "CRITICAL", "UNKNOWN".
    pub fn label(self) -> &'static str {
        match self {
            NagiosState::Ok => "OK",
            NagiosState::Warning => "WARNING",
            NagiosState::Critical => "CRITICAL",
            NagiosState::Unknown => "UNKNOWN",
        }
    }

    fn rank(self) -> u8 {
        match self {
            NagiosState::Ok => 0,
            NagiosState::Unknown => 1,
            NagiosState::Warning => 2,
            NagiosState::Critical => 3,
        }
    }

    /// The worse of two states.
    pub fn worst(self, other: NagiosState) -> NagiosState {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Ages in seconds given on the command line; `None` means "from the
/// job's schedule".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// WARNING when the RPO is older.
    pub warn: Option<i64>,
    /// CRITICAL when the RPO is older.
    pub crit: Option<i64>,
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NagiosCheck {
    /// The worst state.
    pub state: NagiosState,
    /// The line to print (no newline).
    pub line: String,
}

/// Default (warn, crit) ages in seconds of a schedule: [`WARN_MISSED`] and
/// [`CRIT_MISSED`] times its [interval](Schedule::interval) in `tz` (the
/// zone of a schedule without its own). `None` if the schedule has no
/// interval (it fires fewer than twice).
pub fn schedule_thresholds(schedule: &Schedule, tz: &TimeZone) -> Option<(i64, i64)> {
    let interval = schedule.interval(tz)?.as_secs();
    Some((WARN_MISSED * interval, CRIT_MISSED * interval))
}

/// Checks every job of `status` (build it with only the jobs to check).
pub fn check(status: &Status, given: Thresholds, tz: &TimeZone) -> NagiosCheck {
    let mut state = NagiosState::Ok;
    let mut messages = Vec::new();
    let mut perf = Vec::new();
    if status.jobs.is_empty() {
        state = NagiosState::Unknown;
        messages.push("no job to check".to_string());
    }
    for job in &status.jobs {
        let schedule = job
            .schedule
            .as_deref()
            .and_then(|s| Schedule::parse(s).ok());
        let derived = schedule.and_then(|s| schedule_thresholds(&s, tz));
        let warn = given.warn.or(derived.map(|d| d.0));
        let crit = given.crit.or(derived.map(|d| d.1));
        let (s, mut msg) = job_state(job, warn, crit);
        state = state.worst(s);
        if let (true, Some(w)) = (job.history, &job.drill.warning) {
            state = state.worst(match job.drill.critical {
                true => NagiosState::Critical,
                false => NagiosState::Warning,
            });
            msg.push_str(&format!(", drill: {w}"));
        }
        if let (true, Some(w)) = (job.history, &job.verify.warning) {
            state = state.worst(match job.verify.failed {
                true => NagiosState::Critical,
                false => NagiosState::Warning,
            });
            msg.push_str(&format!(", verification: {w}"));
        }
        messages.push(format!("{}: {msg}", job.name));
        if let Some(age) = job.snapshot_age_seconds {
            let t = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            perf.push(format!(
                "{}={age}s;{};{};0",
                label(&format!("{}_snapshot_age", job.name)),
                t(warn),
                t(crit)
            ));
        }
        perf.push(format!(
            "{}={};;;0",
            label(&format!("{}_consecutive_failures", job.name)),
            job.consecutive_failures
        ));
        if let (Some(pass), Some(allowed)) = (&job.drill.last_pass, job.drill.allowed_age_seconds) {
            perf.push(format!(
                "{}={}s;{allowed};{};0",
                label(&format!("{}_drill_age", job.name)),
                pass.age_seconds,
                2 * allowed
            ));
        }
        if let (Some(last), Some(every)) = (&job.verify.last, job.verify.every_seconds) {
            perf.push(format!(
                "{}={}s;{every};;0",
                label(&format!("{}_verification_age", job.name)),
                status.now - last.started
            ));
        }
    }
    for r in &status.repositories {
        match (&r.error, r.size_bytes) {
            (Some(e), _) if !r.reachable => {
                state = state.worst(NagiosState::Unknown);
                messages.push(format!("repository {} unreachable: {e}", r.name));
            }
            (_, Some(size)) => perf.push(format!(
                "{}={size}B;;;0",
                label(&format!("{}_size", r.name))
            )),
            _ => {}
        }
    }
    let text = one_line(&messages.join("; "));
    let line = match perf.is_empty() {
        true => format!("BACKUP {} - {text}", state.label()),
        false => format!("BACKUP {} - {text} | {}", state.label(), perf.join(" ")),
    };
    NagiosCheck { state, line }
}

fn job_state(job: &JobStatus, warn: Option<i64>, crit: Option<i64>) -> (NagiosState, String) {
    if !job.history {
        return (
            NagiosState::Unknown,
            "no catalog to read its history from".into(),
        );
    }
    let (mut state, mut msg) = if !job.missing.is_empty() {
        let what = format!(
            "no snapshot of {} in the repository",
            job.missing.join(", ")
        );
        match job.never_run {
            true => (NagiosState::Unknown, format!("never ran, {what}")),
            false => (NagiosState::Critical, what),
        }
    } else if let Some(age) = job.snapshot_age_seconds {
        let text = format!("snapshot {} old", human_age(age));
        match (warn, crit) {
            (_, Some(c)) if age > c => (
                NagiosState::Critical,
                format!("{text} (critical at {})", human_age(c)),
            ),
            (Some(w), _) if age > w => (
                NagiosState::Warning,
                format!("{text} (warning at {})", human_age(w)),
            ),
            (Some(_), Some(_)) => (NagiosState::Ok, text),
            _ => (
                NagiosState::Unknown,
                format!("{text}; no --warn/--crit given and no schedule to derive them from"),
            ),
        }
    } else {
        (NagiosState::Unknown, "no dataset to check".into())
    };
    // E.g. the history is in another catalog: the monitor reads one that
    // sees none of the timer's runs, which must not pass for OK.
    for w in &job.warnings {
        state = state.worst(NagiosState::Warning);
        msg.push_str(&format!(", {w}"));
    }
    if let (Some(run), Some(f)) = (&job.last_run, &job.last_failure) {
        if !run.ok {
            // A damaged repository is worse than a late snapshot: what it
            // holds may not restore.
            let floor = if f.damaged {
                NagiosState::Critical
            } else {
                NagiosState::Warning
            };
            state = state.worst(floor);
            msg.push_str(&format!(
                ", last run failed ({} in a row): {}",
                job.consecutive_failures, f.error
            ));
        }
    }
    (state, msg)
}

/// Text safe for the plugin line: one line, no `|` (it starts perfdata).
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

/// A perfdata label: no `=` or `'`; quoted when it holds a space.
fn label(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c == '=' || c == '\'' { '_' } else { c })
        .collect();
    match clean.contains(char::is_whitespace) {
        true => format!("'{clean}'"),
        false => clean,
    }
}
