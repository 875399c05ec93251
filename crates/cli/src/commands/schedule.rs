//! `backup schedule next`; `install`, `show` and `remove` are in
//! [`schedule_units`](super::schedule_units).

use anyhow::{Context, Result};
use backup_core::schedule::Schedule;
use jiff::Zoned;

use super::schedule_units;
use crate::cli::{GlobalArgs, ScheduleCommand};
use crate::context;
use crate::exit::{ExitStatus, UsageError};

pub fn run(g: &GlobalArgs, c: &ScheduleCommand) -> Result<ExitStatus> {
    let (job, count, now) = match c {
        ScheduleCommand::Next { job, count, now } => (job, count, now),
        ScheduleCommand::Install(a) => return schedule_units::install(g, a),
        ScheduleCommand::Show(a) => return schedule_units::show(g, a),
        ScheduleCommand::Remove(a) => return schedule_units::remove(g, a),
    };
    let config = context::config(g)?;
    let now: Zoned = match now {
        Some(t) => parse_time(t)?,
        None => Zoned::now(),
    };
    let jobs: Vec<_> = match job {
        Some(name) => vec![config.jobs.get(name).ok_or_else(|| {
            UsageError(format!(
                "no job named {name:?} in {}",
                config.path.display()
            ))
        })?],
        None => config.jobs.values().collect(),
    };
    for j in jobs {
        let Some(text) = &j.schedule else {
            println!(
                "{}: no schedule (runs only when asked: backup run {})",
                j.name, j.name
            );
            continue;
        };
        let s = Schedule::parse(text).with_context(|| format!("schedule of job {}", j.name))?;
        println!("{}: {s}", j.name);
        let times = s.upcoming(now.clone(), *count);
        if times.is_empty() {
            println!("  never again");
        }
        for t in times {
            println!("  {}", t.strftime("%a %Y-%m-%d %H:%M:%S %Z"));
        }
    }
    Ok(ExitStatus::Success)
}

/// An RFC 3339 time (or one with a zone annotation), in the local zone if
/// it names none.
fn parse_time(text: &str) -> Result<Zoned> {
    if let Ok(z) = text.parse::<Zoned>() {
        return Ok(z);
    }
    let ts: jiff::Timestamp = text
        .parse()
        .map_err(|e| UsageError(format!("--now {text:?}: {e}")))?;
    Ok(ts.to_zoned(jiff::tz::TimeZone::system()))
}
