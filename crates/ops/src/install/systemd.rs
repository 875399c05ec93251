//! `backup-<job>.service` (a hardened oneshot) and `backup-<job>.timer`.

use std::fmt::Write as _;

use super::drill_units::drill_units;
use super::unit::{delay_text, header, sandbox, service_basics, unit_base, writable_paths};
use super::{schedule_of, GeneratedFile, InstallError, Options};
use crate::config::{Config, Job};

/// The timer's unit name, `backup-<job>.timer`.
pub fn timer_name(job: &str) -> Result<String, InstallError> {
    Ok(unit_base(job)? + ".timer")
}

/// A service and a timer for each of `jobs` that has a schedule, and for
/// each that has a drill table (`backup-drill-<job>.service` and `.timer`),
/// in `options.unit_dir`. Refused if two units would share a name (a job
/// named `drill-web` beside a drill of job `web`).
pub fn systemd_units(
    config: &Config,
    jobs: &[&Job],
    options: &Options,
) -> Result<Vec<GeneratedFile>, InstallError> {
    let mut files = Vec::new();
    for job in jobs {
        files.extend(drill_units(config, job, options)?);
        let Some(schedule) = schedule_of(job)? else {
            continue;
        };
        let base = unit_base(&job.name)?;
        let service = format!("{base}.service");
        files.push(GeneratedFile {
            path: options.unit_dir.join(&service),
            content: service_text(config, job, options, &service)?,
        });
        let mut timer = header(config, &format!("{base}.timer"))?;
        let written = job.schedule.as_deref().unwrap_or_default();
        writeln!(timer, "[Unit]").unwrap();
        writeln!(timer, "Description=Run backup job {} ({written})", job.name).unwrap();
        writeln!(timer, "\n[Timer]").unwrap();
        for event in schedule.on_calendar() {
            writeln!(timer, "OnCalendar={event}").unwrap();
        }
        writeln!(timer, "# Catch up on a run missed while the host was down.").unwrap();
        writeln!(timer, "Persistent=true").unwrap();
        writeln!(timer, "# Spread the hosts that share a repository.").unwrap();
        let delay = delay_text(options.randomized_delay);
        writeln!(timer, "RandomizedDelaySec={delay}").unwrap();
        writeln!(timer, "\n[Install]\nWantedBy=timers.target").unwrap();
        files.push(GeneratedFile {
            path: options.unit_dir.join(format!("{base}.timer")),
            content: timer,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = files.windows(2).find(|w| w[0].path == w[1].path) {
        let name = pair[0].path.file_name().unwrap_or_default();
        return Err(InstallError::Job {
            job: name.to_string_lossy().into_owned(),
            reason: "two units would have this name: a job named drill-NAME beside the \
                     drill of job NAME; rename one of the jobs"
                .into(),
        });
    }
    Ok(files)
}

fn service_text(
    config: &Config,
    job: &Job,
    options: &Options,
    unit: &str,
) -> Result<String, InstallError> {
    let mut s = header(config, unit)?;
    writeln!(s, "[Unit]").unwrap();
    writeln!(s, "Description=backup job {}", job.name).unwrap();
    writeln!(s, "After=zfs.target local-fs.target").unwrap();
    writeln!(s, "\n[Service]\nType=oneshot").unwrap();
    service_basics(&mut s, config, job, options, &["run", &job.name])?;
    writeln!(
        s,
        "\n# Sandbox: the whole file system is read-only but for the paths"
    )
    .unwrap();
    writeln!(
        s,
        "# below; /dev stays whole (zfs needs /dev/zfs). Hooks and"
    )
    .unwrap();
    writeln!(
        s,
        "# password commands run inside it too: give them more paths"
    )
    .unwrap();
    writeln!(s, "# with a drop-in (ReadWritePaths=).").unwrap();
    let hooks: Vec<&str> = [("pre_hook", &job.pre_hook), ("post_hook", &job.post_hook)]
        .iter()
        .filter(|(_, h)| h.is_some())
        .map(|(name, _)| *name)
        .collect();
    if !hooks.is_empty() {
        writeln!(
            s,
            "# This job has a {}: if it writes files (a database",
            hooks.join(" and a ")
        )
        .unwrap();
        writeln!(
            s,
            "# checkpoint), allow them in a drop-in or it fails here."
        )
        .unwrap();
    }
    sandbox(&mut s, writable_paths(config, job))?;
    writeln!(
        s,
        "# Yield to the services being backed up, but never starve:"
    )
    .unwrap();
    writeln!(
        s,
        "# the idle class could stall a run (and its lock) for hours."
    )
    .unwrap();
    writeln!(s, "Nice=10").unwrap();
    writeln!(s, "IOSchedulingClass=best-effort\nIOSchedulingPriority=7").unwrap();
    Ok(s)
}
