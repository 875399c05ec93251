//! A job's restore drills in `status`: the last drill, the last passing
//! drill, and whether the drill is late.
//!
//! A job with a `[jobs.NAME.drill]` table is late when its last passing
//! drill is older than the drill's schedule allows: the first scheduled
//! drill after that pass ([`DrillStatus::due`]) plus a grace of a tenth of
//! the interval from the pass to it (at least [`MIN_GRACE`]), which leaves
//! a drill that is due time to run and finish. That allowed age, doubled,
//! is where a late drill becomes critical (`status --nagios`). A defined
//! drill that never passed is late; so is one whose last drill failed
//! (its last pass still says how late). A job without a drill table is
//! never late: it shows "no drill defined".

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use super::human_age;
use crate::catalog::Catalog;
use crate::config::Job;
use crate::drill::{DrillReport, Outcome, Phases, Target};
use crate::error::Result;
use crate::schedule::Schedule;

/// The least grace a drill gets after it is due, seconds.
pub const MIN_GRACE: i64 = 3600;

/// A job's drills.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DrillStatus {
    /// Whether the job has a `[jobs.NAME.drill]` table.
    pub defined: bool,
    /// The drill's schedule, as written, when defined.
    pub schedule: Option<String>,
    /// The newest drill recorded, whatever its outcome.
    pub last: Option<DrillSummary>,
    /// The newest passing drill.
    pub last_pass: Option<DrillSummary>,
    /// When the first drill after the last pass was due, Unix seconds.
    pub due: Option<i64>,
    /// How old the last pass may be before the drill is late, seconds.
    pub allowed_age_seconds: Option<i64>,
    /// A defined drill that is late, never passed, or failed last time.
    pub flagged: bool,
    /// More than twice as late as allowed.
    pub critical: bool,
    /// Why it is flagged, for people.
    pub warning: Option<String>,
}

/// One drill, briefly: what status, metrics and history show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillSummary {
    /// Drill id.
    pub id: String,
    /// Start, Unix seconds.
    pub started: i64,
    /// End, Unix seconds.
    pub finished: i64,
    /// Seconds from its start to now.
    pub age_seconds: i64,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, unless it passed.
    pub reason: Option<String>,
    /// Seconds per phase.
    pub phases: Phases,
    /// Stream bytes restored.
    pub restored_bytes: u64,
    /// Missing, extra and changed paths.
    pub mismatches: u64,
    /// Restore time against its target.
    pub rto: Target,
    /// Data age against its target.
    pub rpo: Target,
    /// Per layer that ran (`data`, `receive`, `files`, `sample`): whether it
    /// passed on every dataset.
    pub layers: Vec<(String, bool)>,
    /// Files the one-file layer restored and found matching, all datasets.
    pub sample_files: u64,
}

/// Per layer that ran on some dataset of `r`: whether it passed on all.
fn layers(r: &DrillReport) -> Vec<(String, bool)> {
    use crate::drill::Status;
    let mut out = Vec::new();
    for name in ["data", "receive", "files", "sample"] {
        let ran: Vec<Status> = r
            .datasets
            .iter()
            .map(|d| match name {
                "data" => d.data.status,
                "receive" => d.receive.status,
                "files" => d.files.status,
                _ => d.sample.status,
            })
            .filter(|s| matches!(s, Status::Pass | Status::Fail))
            .collect();
        if !ran.is_empty() {
            out.push((name.to_string(), ran.iter().all(|s| *s == Status::Pass)));
        }
    }
    out
}

impl DrillSummary {
    /// The summary of `r` at `now` (Unix seconds).
    pub fn of(r: &DrillReport, now: i64) -> DrillSummary {
        DrillSummary {
            id: r.id.clone(),
            started: r.started,
            finished: r.finished,
            age_seconds: now - r.started,
            outcome: r.outcome,
            reason: r.reason.clone(),
            phases: r.phases.clone(),
            restored_bytes: r.restored_bytes,
            mismatches: r.mismatches,
            rto: r.rto.clone(),
            rpo: r.rpo.clone(),
            layers: layers(r),
            sample_files: r
                .datasets
                .iter()
                .filter_map(|d| d.sample_detail.as_ref())
                .map(|s| s.files)
                .sum(),
        }
    }
}

/// The drills of `job` at `now`, from `catalog` (none without one).
pub fn drill_status(
    job: &Job,
    catalog: Option<&Catalog>,
    now: i64,
    tz: &TimeZone,
) -> Result<DrillStatus> {
    let (last, last_pass) = match catalog {
        Some(c) => (
            c.last_drill(&job.name)?,
            c.last_drill_with(&job.name, Outcome::Pass)?,
        ),
        None => (None, None),
    };
    let mut st = DrillStatus {
        defined: job.drill.is_some(),
        schedule: job.drill.as_ref().map(|d| d.schedule.clone()),
        last: last.as_ref().map(|r| DrillSummary::of(r, now)),
        last_pass: last_pass.as_ref().map(|r| DrillSummary::of(r, now)),
        ..DrillStatus::default()
    };
    let Some(text) = st.schedule.clone() else {
        return Ok(st);
    };
    if catalog.is_none() {
        // No history to judge by: status says so for the job as a whole.
        return Ok(st);
    }
    let mut warnings = Vec::new();
    match (&st.last_pass, Schedule::parse(&text)) {
        (None, _) => warnings.push(match &st.last {
            None => "never drilled".to_string(),
            Some(_) => "no drill has passed yet".to_string(),
        }),
        (Some(pass), Ok(schedule)) => {
            if let Some(allowed) = allowed_age(&schedule, pass.started, tz) {
                st.due = Some(allowed.due);
                st.allowed_age_seconds = Some(allowed.age);
                if pass.age_seconds > allowed.age {
                    st.critical = pass.age_seconds > 2 * allowed.age;
                    warnings.push(format!(
                        "last passing drill {} ago, allowed {} ({text})",
                        human_age(pass.age_seconds),
                        human_age(allowed.age)
                    ));
                }
            }
        }
        (Some(_), Err(e)) => warnings.push(format!("drill schedule {text:?}: {e}")),
    }
    if let Some(last) = st.last.as_ref().filter(|l| l.outcome != Outcome::Pass) {
        let why = last.reason.as_deref().unwrap_or("no reason recorded");
        warnings.push(format!(
            "last drill {} {}: {why}",
            last.id,
            match last.outcome {
                Outcome::Error => "could not run",
                _ => "failed",
            }
        ));
    }
    st.flagged = !warnings.is_empty();
    st.warning = st.flagged.then(|| warnings.join("; "));
    Ok(st)
}

/// When a drill was due after a pass, and the age the pass may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowedAge {
    /// The first scheduled drill after the pass, Unix seconds.
    pub due: i64,
    /// Seconds from the pass to `due`, plus the grace.
    pub age: i64,
}

/// The age a drill that passed at `passed` (Unix seconds) may reach under
/// `schedule` (see the module documentation); `None` if the schedule never
/// fires again.
pub fn allowed_age(schedule: &Schedule, passed: i64, tz: &TimeZone) -> Option<AllowedAge> {
    let from = Timestamp::from_second(passed).ok()?.to_zoned(tz.clone());
    let due = schedule.next_after(from)?.timestamp().as_second();
    let wait = due - passed;
    Some(AllowedAge {
        due,
        age: wait + (wait / 10).max(MIN_GRACE),
    })
}
