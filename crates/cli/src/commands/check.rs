//! `backup check`.

use anyhow::Result;
use backup_core::{check, CheckOptions, CheckReport, ReadData};
use jiff::Timestamp;

use crate::cli::{CheckArgs, GlobalArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::bytes;
use crate::progress::CliProgress;

fn percent(s: &str) -> Result<f64> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| UsageError(format!("--read-data={s}: not a percentage")))?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(UsageError(format!(
            "--read-data={s}: must be more than 0 and at most 100"
        ))
        .into());
    }
    Ok(v)
}

pub fn run(g: &GlobalArgs, a: &CheckArgs) -> Result<ExitStatus> {
    if let Some(name) = &a.job {
        let config = context::config(g)?;
        let job = config.jobs.get(name).ok_or_else(|| {
            UsageError(format!(
                "no job named {name:?} in {}",
                config.path.display()
            ))
        })?;
        let now = match &a.now {
            Some(t) => t
                .parse::<Timestamp>()
                .map_err(|e| UsageError(format!("--now {t:?}: {e}")))?,
            None => Timestamp::now(),
        };
        return super::verify::verify_job(g, &config, job, now, a.json);
    }
    let opts = CheckOptions {
        read_data: a
            .read_data
            .as_deref()
            .map(percent)
            .transpose()?
            .map(ReadData::Sample),
    };
    let repo = context::open_repo(g)?;
    let _lock = context::read_lock(g, &repo, "check")?;
    let progress = CliProgress::new(g.quiet || a.json);
    let r = check(&repo, opts, &progress)?;
    print_report(&r, a.json)?;
    Ok(if r.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Damaged
    })
}

/// Prints what `check` found: warnings, errors, damaged snapshots and a
/// summary line, or the report as JSON.
pub fn print_report(r: &CheckReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        for w in &r.warnings {
            println!("warning: {w}");
        }
        for e in &r.errors {
            println!("error: {e}");
        }
        if !r.damaged_snapshots.is_empty() {
            println!("snapshots that cannot be restored:");
            for s in &r.damaged_snapshots {
                println!("  {s}");
            }
        }
        println!(
            "checked {} snapshot(s), {} pack(s); read {} pack(s), {} blob(s), {}: {}",
            r.snapshots,
            r.packs,
            r.packs_read,
            r.blobs_read,
            bytes(r.bytes_read),
            if r.ok() {
                "no errors".to_string()
            } else {
                format!("{} error(s)", r.errors.len())
            }
        );
        if !r.ok() {
            println!(
                "to repair, in this order, each with --dry-run first: `backup repair index`, `backup repair packs`, `backup repair snapshots` (see `backup repair --help`)"
            );
        }
    }
    Ok(())
}
