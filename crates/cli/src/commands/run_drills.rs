//! The drills of `backup run --due`: every job with a `[jobs.NAME.drill]`
//! table whose drill schedule has fired since its last drill (or that was
//! never drilled) is drilled once, after the due jobs ran. A drill that
//! fails or cannot run makes `run --due` fail, without stopping the others.

use anyhow::{Context, Result};
use backup_ops::config::{Config, Job};
use backup_ops::schedule::{due, Due, Schedule};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::drill::{drill_job, DrillRunOpts};
use crate::cli::GlobalArgs;
use crate::context;
use crate::exit::ExitStatus;

/// Runs the due drills of `jobs` at `now`; the worst status of them.
pub fn due_drills(
    g: &GlobalArgs,
    config: &Config,
    jobs: &[&Job],
    now: Timestamp,
    json: bool,
) -> ExitStatus {
    let mut worst = ExitStatus::Success;
    for job in jobs.iter().filter(|j| j.drill.is_some()) {
        let status = match drill_if_due(g, config, job, now, json) {
            Ok(s) => s,
            Err(e) => {
                crate::journal::error!("backup: drill of job {}: {e:#}", job.name);
                ExitStatus::of(&e)
            }
        };
        worst = worst.worse(status);
    }
    worst
}

fn drill_if_due(
    g: &GlobalArgs,
    config: &Config,
    job: &Job,
    now: Timestamp,
    json: bool,
) -> Result<ExitStatus> {
    let spec = job.drill.as_ref().expect("filtered on drill");
    let schedule = Schedule::parse(&spec.schedule)
        .with_context(|| format!("drill schedule of job {}", job.name))?;
    let location = &config.repositories[&job.repository].location;
    let last = context::catalog_at(g, location)
        .and_then(|c| Ok(c.last_drill_at(&job.name)?))
        .with_context(|| {
            format!(
                "reading the last drill of job {} from the catalog",
                job.name
            )
        })?
        .and_then(|s| Timestamp::from_second(s).ok());
    match due(&schedule, last, now, &TimeZone::system()) {
        Due::No { next } => {
            if !g.quiet && !json {
                let next = next.map_or("never".into(), |n| {
                    n.strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
                });
                println!("drill of job {}: not due (next drill {next})", job.name);
            }
            Ok(ExitStatus::Success)
        }
        Due::Yes { missed, scheduled } => {
            if !json {
                let when = scheduled.strftime("%Y-%m-%d %H:%M:%S %Z");
                match (last, missed) {
                    (None, _) => println!("drill of job {}: due (never drilled)", job.name),
                    (_, 0 | 1) => println!("drill of job {}: due (scheduled {when})", job.name),
                    (_, n) => println!(
                        "drill of job {}: due ({n} scheduled drills missed up to {when}; drilling once)",
                        job.name
                    ),
                }
            }
            let opts = DrillRunOpts {
                now: Some(now),
                json,
                ..DrillRunOpts::default()
            };
            let (_, status) = drill_job(g, config, &job.name, &opts)?;
            Ok(status)
        }
    }
}
