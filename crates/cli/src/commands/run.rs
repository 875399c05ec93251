//! `backup run JOB`.

use anyhow::Result;
use backup_core::job::{run_job, JobLock};
use backup_zfs::Zfs;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::cli::{GlobalArgs, RunArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::bytes;
use crate::progress::CliProgress;

pub fn run(g: &GlobalArgs, a: &RunArgs) -> Result<ExitStatus> {
    let config = context::config(g)?;
    let job = config.jobs.get(&a.job).ok_or_else(|| {
        UsageError(format!(
            "no job named {:?} in {}",
            a.job,
            config.path.display()
        ))
    })?;
    let now = match &a.now {
        Some(t) => t
            .parse::<Timestamp>()
            .map_err(|e| UsageError(format!("--now {t:?}: {e}")))?,
        None => Timestamp::now(),
    };
    let state = config
        .state_dir
        .clone()
        .unwrap_or_else(|| context::cache_dir(g));
    // Before anything else: a second run of the same job stops here.
    let _lock = JobLock::acquire(&state.join("locks"), &job.name)?;
    let mut repo = context::open_named(g, &config, &job.repository)?;
    let mut catalog = context::catalog(g, &repo)?;
    let progress = CliProgress::new(g.quiet || a.json);
    let report = run_job(
        job,
        &mut repo,
        &mut catalog,
        &Zfs::new(),
        now,
        &TimeZone::system(),
        &progress,
    )
    .inspect_err(|_| crate::commands::status::write_metrics(g, &config, now))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("job {}: snapshot @{}", job.name, report.snapshot);
        for s in &report.shipped {
            println!("  shipped {s}");
        }
        for d in &report.destroyed {
            println!("  destroyed {d} (retention)");
        }
        for e in &report.errors {
            println!("  error: {e}");
        }
        println!(
            "  {} of streams, {} newly stored",
            bytes(report.stream_bytes),
            bytes(report.stored_bytes)
        );
    }
    crate::commands::status::write_metrics(g, &config, now);
    if report.errors.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        eprintln!(
            "backup: job {} failed: {}",
            job.name,
            report.errors.join("; ")
        );
        Ok(ExitStatus::Failure)
    }
}
