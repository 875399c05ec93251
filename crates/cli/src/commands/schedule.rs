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
    let (job, count, now, json) = match c {
        ScheduleCommand::Next {
            job,
            count,
            now,
            json,
        } => (job, count, now, *json),
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
    let mut out = Vec::new();
    for j in jobs {
        match &j.schedule {
            Some(text) => {
                let s =
                    Schedule::parse(text).with_context(|| format!("schedule of job {}", j.name))?;
                out.push(Upcoming::of(&j.name, "job", Some(&s), &now, *count));
            }
            None if j.drill.is_some() => {}
            None => out.push(Upcoming::of(&j.name, "job", None, &now, *count)),
        }
        if let Some(d) = &j.drill {
            let s = Schedule::parse(&d.schedule)
                .with_context(|| format!("drill schedule of job {}", j.name))?;
            out.push(Upcoming::of(&j.name, "drill", Some(&s), &now, *count));
        }
    }
    if json {
        let v: Vec<_> = out.iter().map(Upcoming::json).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        out.iter().for_each(Upcoming::print);
    }
    Ok(ExitStatus::Success)
}

/// The next run times of a job or of its drill.
struct Upcoming {
    job: String,
    /// "job" or "drill".
    kind: &'static str,
    /// Normalized; `None`: runs only when asked.
    schedule: Option<String>,
    times: Vec<Zoned>,
}

impl Upcoming {
    fn of(job: &str, kind: &'static str, s: Option<&Schedule>, now: &Zoned, n: usize) -> Upcoming {
        Upcoming {
            job: job.to_string(),
            kind,
            schedule: s.map(ToString::to_string),
            times: s.map(|s| s.upcoming(now.clone(), n)).unwrap_or_default(),
        }
    }

    fn print(&self) {
        let Some(schedule) = &self.schedule else {
            println!(
                "{}: no schedule (runs only when asked: backup run {})",
                self.job, self.job
            );
            return;
        };
        match self.kind {
            "drill" => println!("{} drill: {schedule}", self.job),
            _ => println!("{}: {schedule}", self.job),
        }
        if self.times.is_empty() {
            println!("  never again");
        }
        for t in &self.times {
            println!("  {}", t.strftime("%a %Y-%m-%d %H:%M:%S %Z"));
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "job": self.job,
            "kind": self.kind,
            "schedule": self.schedule,
            "times": self.times.iter().map(|t| t.timestamp().to_string()).collect::<Vec<_>>(),
            "local_times": self.times.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
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
