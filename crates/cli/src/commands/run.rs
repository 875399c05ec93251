//! `backup run JOB` and `backup run --due [JOB]`: the job (if due), then
//! with `--due` its drill, and its verification if `check_every` says so.

use anyhow::{Context, Result};
use backup_core::Error as CoreError;
use backup_ops::config::{Config, Job};
use backup_ops::job::{run_job, JobLock, JobReport, RunEnv};
use backup_ops::notify;
use backup_ops::schedule::{due, Due, Schedule};
use backup_ops::Error;
use backup_zfs::Zfs;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::cli::{GlobalArgs, RunArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::bytes;
use crate::hook_output::{notifier_warnings, HookLines};
use crate::progress::CliProgress;

use super::run_drills;
use super::verify::{due_verifications, verify_if_due};

pub fn run(g: &GlobalArgs, a: &RunArgs) -> Result<ExitStatus> {
    let config = context::config(g)?;
    let now = match &a.now {
        Some(t) => t
            .parse::<Timestamp>()
            .map_err(|e| UsageError(format!("--now {t:?}: {e}")))?,
        None => Timestamp::now(),
    };
    let named = match &a.job {
        Some(name) => Some(config.jobs.get(name).ok_or_else(|| {
            UsageError(format!(
                "no job named {name:?} in {}",
                config.path.display()
            ))
        })?),
        None => None,
    };
    if !a.due {
        let job = named.expect("clap requires JOB or --due");
        let ran = run_one(g, &config, job, now, a.json)?;
        // The job's timer (systemd) runs `run JOB`: its verification too.
        let verified = verify_if_due(g, &config, job, now, a.json).unwrap_or_else(|e| {
            crate::journal::error!("backup: verification of job {}: {e:#}", job.name);
            ExitStatus::of(&e)
        });
        return Ok(ran.worse(verified));
    }
    let jobs: Vec<&Job> = match named {
        Some(job) if job.schedule.is_none() && job.drill.is_none() && job.check_every.is_none() => {
            return Err(UsageError(format!(
                "job {} has no schedule, no drill and no check_every, so it is never due: run it with `backup run {}`",
                job.name, job.name
            ))
            .into())
        }
        Some(job) => vec![job],
        None => config.jobs.values().collect(),
    };
    let tz = TimeZone::system();
    let mut worst = ExitStatus::Success;
    for job in jobs.iter().filter(|j| j.schedule.is_some()) {
        let text = job.schedule.as_deref().expect("filtered on schedule");
        let schedule =
            Schedule::parse(text).with_context(|| format!("schedule of job {}", job.name))?;
        // One unreachable repository must not stop the other jobs.
        let last = match context::catalog_at(g, &config.repositories[&job.repository].location)
            .and_then(|c| Ok(c.last_run_at(&job.name)?))
        {
            Ok(last) => last.and_then(|s| Timestamp::from_second(s).ok()),
            Err(e) => {
                crate::journal::error!(
                    "backup: job {}: reading its last run from the catalog: {e:#}",
                    job.name
                );
                worst = worst.worse(ExitStatus::of(&e));
                continue;
            }
        };
        match due(&schedule, last, now, &tz) {
            Due::No { next } => {
                if !g.quiet && !a.json {
                    let next = next.map_or("never".into(), |n| {
                        n.strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
                    });
                    println!("job {}: not due (next run {next})", job.name);
                }
            }
            Due::Yes { missed, scheduled } => {
                if !a.json {
                    let when = scheduled.strftime("%Y-%m-%d %H:%M:%S %Z");
                    match missed {
                        0 | 1 => println!("job {}: due (scheduled {when})", job.name),
                        n => println!(
                            "job {}: due ({n} scheduled runs missed up to {when}; running once)",
                            job.name
                        ),
                    }
                }
                let status = match run_one(g, &config, job, now, a.json) {
                    Ok(s) => s,
                    Err(e) => {
                        crate::journal::error!("backup: job {}: {e:#}", job.name);
                        ExitStatus::of(&e)
                    }
                };
                worst = worst.worse(status);
            }
        }
    }
    // Drills after the jobs, so a drill restores what they just shipped.
    let drills = run_drills::due_drills(g, &config, &jobs, now, a.json);
    // Verifications last: they read what the jobs wrote.
    let verified = due_verifications(g, &config, &jobs, now, a.json);
    Ok(worst.worse(drills).worse(verified))
}

/// Runs one job now, prints its report; notifies (`notify`) its start and
/// its outcome, whatever it is, once the job's lock is held.
fn run_one(
    g: &GlobalArgs,
    config: &Config,
    job: &Job,
    now: Timestamp,
    json: bool,
) -> Result<ExitStatus> {
    let state = context::state_dir(g, config);
    let hooks = HookLines { quiet: g.quiet };
    // Before anything else: a second run of the same job stops here, and
    // says so to the job's notifiers (a run stuck for hours, or runs that
    // overlap, want attention as much as a failed one).
    let _lock = match JobLock::acquire(&state.join("locks"), &job.name) {
        Ok(lock) => lock,
        Err(e) => {
            let error = format!("{e}");
            let outcome = notify::Outcome {
                event: notify::Event::Run,
                error: Some(&error),
                snapshot: None,
            };
            notifier_warnings(notify::finished(job, &outcome, &hooks));
            return Err(e.into());
        }
    };
    notifier_warnings(notify::started(job));
    let result = run_locked(g, config, job, now, json, &hooks);
    let error = match &result {
        Ok(r) if r.errors.is_empty() => None,
        Ok(r) => Some(r.errors.join("; ")),
        Err(e) => Some(format!("{e:#}")),
    };
    let snapshot = match &result {
        Ok(r) if !r.snapshot.is_empty() => Some(r.snapshot.as_str()),
        _ => None,
    };
    let outcome = notify::Outcome {
        event: notify::Event::Run,
        error: error.as_deref(),
        snapshot,
    };
    notifier_warnings(notify::finished(job, &outcome, &hooks));
    let report = result?;
    if report.errors.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        crate::journal::error!(
            "backup: job {} failed: {}",
            job.name,
            report.errors.join("; ")
        );
        if report.damage.is_empty() {
            Ok(ExitStatus::Failure)
        } else {
            Ok(ExitStatus::Damaged)
        }
    }
}

/// The run itself, under the job's lock: its report, printed.
fn run_locked(
    g: &GlobalArgs,
    config: &Config,
    job: &Job,
    now: Timestamp,
    json: bool,
    hooks: &HookLines,
) -> Result<JobReport> {
    let mut repo = context::open_named_limited(g, config, &job.repository, job.limit_upload)?;
    let mut catalog = context::catalog(g, &repo)?;
    let progress = CliProgress::new(g.quiet || json);
    let env = RunEnv {
        now,
        tz: TimeZone::system(),
        lock: context::lock_options(g)?,
        host: backup_zfs::host::hostname(),
    };
    let report = run_job(
        job,
        &mut repo,
        &mut catalog,
        &Zfs::new(),
        &env,
        &progress,
        hooks,
    )
    .map_err(|e| match e {
        Error::Core(CoreError::RepositoryLocked { .. }) => anyhow::Error::new(e).context(format!(
            "job {}: nothing shipped (--lock-wait ran out)",
            job.name
        )),
        e => e.into(),
    })
    .inspect_err(|_| crate::commands::status::write_metrics(g, config, now))?;
    print_report(job, &report, json)?;
    crate::commands::status::write_metrics(g, config, now);
    Ok(report)
}

fn print_report(job: &Job, report: &JobReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!("job {}: snapshot @{}", job.name, report.snapshot);
    for t in &report.locks_taken_over {
        println!("  removed a stale lock: {t}");
    }
    for s in &report.shipped {
        println!("  shipped {s}");
    }
    for d in &report.destroyed {
        println!("  destroyed {d} (retention)");
    }
    for f in &report.forgotten {
        println!("  forgot {f} (repository retention)");
    }
    if let Some(p) = &report.pruned {
        println!("  pruned: {p}");
    }
    for n in &report.notes {
        println!("  note: {n}");
    }
    for e in &report.errors {
        println!("  error: {e}");
    }
    println!(
        "  {} of streams, {} newly stored",
        bytes(report.stream_bytes),
        bytes(report.stored_bytes)
    );
    Ok(())
}
