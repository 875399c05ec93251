//! `backup schedule next` (jobs and their drills); `install`, `show` and `remove` are in
//! [`super::schedule_units`].

use anyhow::{Context, Result};
use backup_ops::schedule::Schedule;
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
        match &j.schedule {
            Some(text) => {
                let s =
                    Schedule::parse(text).with_context(|| format!("schedule of job {}", j.name))?;
                println!("{}: {s}", j.name);
                print_times(&s, &now, *count);
            }
            None if j.drill.is_some() => {}
            None => println!(
                "{}: no schedule (runs only when asked: backup run {})",
                j.name, j.name
            ),
        }
        if let Some(d) = &j.drill {
            let s = Schedule::parse(&d.schedule)
                .with_context(|| format!("drill schedule of job {}", j.name))?;
            println!("{} drill: {s}", j.name);
            print_times(&s, &now, *count);
        }
    }
    Ok(ExitStatus::Success)
}

fn print_times(s: &Schedule, now: &Zoned, count: usize) {
    let times = s.upcoming(now.clone(), count);
    if times.is_empty() {
        println!("  never again");
    }
    for t in times {
        println!("  {}", t.strftime("%a %Y-%m-%d %H:%M:%S %Z"));
    }
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
