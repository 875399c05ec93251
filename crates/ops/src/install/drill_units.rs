//! `backup-drill-<job>.service` and `.timer`: a job's restore drill on its
//! drill schedule (`[jobs.NAME.drill] schedule`, default monthly).
//!
//! The service is sandboxed like the job's, plus write access to where the
//! drill restores: its `scratch_dir` (a throwaway pool's file and
//! mountpoints; by default in the state directory, already writable), or
//! the default mountpoint of its `scratch_parent` dataset. Probes run
//! inside the same sandbox.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::unit::{delay_text, header, sandbox, service_basics, unit_base, writable_paths};
use super::{GeneratedFile, InstallError, Options};
use crate::config::{Config, Job, Scratch};
use crate::schedule::Schedule;

/// The drill units of `job`, none without a drill table.
pub fn drill_units(
    config: &Config,
    job: &Job,
    options: &Options,
) -> Result<Vec<GeneratedFile>, InstallError> {
    let Some(drill) = &job.drill else {
        return Ok(Vec::new());
    };
    let schedule = Schedule::parse(&drill.schedule).map_err(|source| InstallError::Schedule {
        job: format!("{} (its drill)", job.name),
        schedule: drill.schedule.clone(),
        source: Box::new(source),
    })?;
    // The job's own unit name, checked; the drill's is longer by "drill-".
    unit_base(&format!("drill-{}", job.name))?;
    let base = format!("backup-drill-{}", job.name);
    let service = format!("{base}.service");
    let mut timer = header(config, &format!("{base}.timer"))?;
    writeln!(timer, "[Unit]").unwrap();
    writeln!(
        timer,
        "Description=Restore drill of backup job {} ({})",
        job.name, drill.schedule
    )
    .unwrap();
    writeln!(timer, "\n[Timer]").unwrap();
    for event in schedule.on_calendar() {
        writeln!(timer, "OnCalendar={event}").unwrap();
    }
    writeln!(
        timer,
        "# Catch up on a drill missed while the host was down."
    )
    .unwrap();
    writeln!(timer, "Persistent=true").unwrap();
    writeln!(timer, "# Spread the hosts that share a repository.").unwrap();
    writeln!(
        timer,
        "RandomizedDelaySec={}",
        delay_text(options.randomized_delay)
    )
    .unwrap();
    writeln!(timer, "\n[Install]\nWantedBy=timers.target").unwrap();
    Ok(vec![
        GeneratedFile {
            path: options.unit_dir.join(&service),
            content: service_text(config, job, options, &service)?,
        },
        GeneratedFile {
            path: options.unit_dir.join(format!("{base}.timer")),
            content: timer,
        },
    ])
}

fn service_text(
    config: &Config,
    job: &Job,
    options: &Options,
    unit: &str,
) -> Result<String, InstallError> {
    let mut s = header(config, unit)?;
    writeln!(s, "[Unit]").unwrap();
    writeln!(s, "Description=backup restore drill of job {}", job.name).unwrap();
    writeln!(
        s,
        "After=zfs.target local-fs.target backup-{}.service",
        job.name
    )
    .unwrap();
    super::systemd::on_failure(&mut s);
    writeln!(s, "\n[Service]\nType=oneshot").unwrap();
    writeln!(
        s,
        "# Exit code 6: the drill ran and failed (a layer or a target); the unit fails."
    )
    .unwrap();
    service_basics(&mut s, config, job, options, &["drill", "run", &job.name])?;
    writeln!(
        s,
        "\n# Sandbox: read-only but for the paths below, where the drill takes"
    )
    .unwrap();
    writeln!(
        s,
        "# its repository lock and makes its scratch space; /dev stays whole"
    )
    .unwrap();
    writeln!(
        s,
        "# (zfs needs /dev/zfs). Probes run inside it too: give them more"
    )
    .unwrap();
    writeln!(s, "# paths with a drop-in (ReadWritePaths=).").unwrap();
    let mut paths = writable_paths(config, job);
    paths.extend(scratch_paths(&job.drill.as_ref().expect("checked").scratch));
    paths.dedup();
    sandbox(&mut s, paths)?;
    writeln!(s, "Nice=10").unwrap();
    writeln!(s, "IOSchedulingClass=best-effort\nIOSchedulingPriority=7").unwrap();
    Ok(s)
}

/// Where the drill's scratch space is written, beyond the state directory.
fn scratch_paths(scratch: &Scratch) -> Vec<PathBuf> {
    match scratch {
        Scratch::PoolIn(Some(dir)) => vec![Path::new("/").join(dir)],
        Scratch::PoolIn(None) => Vec::new(),
        // The parent's default mountpoint; one set elsewhere needs a drop-in.
        Scratch::Under(parent) => vec![Path::new("/").join(parent.as_str())],
    }
}
