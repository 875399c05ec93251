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
    if files
        .iter()
        .any(|f| f.path.extension().is_some_and(|e| e == "service"))
    {
        files.push(GeneratedFile {
            path: options.unit_dir.join(NOTIFY_TEMPLATE),
            content: notify_template(config)?,
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

/// The template every generated service names in `OnFailure=`.
pub const NOTIFY_TEMPLATE: &str = "backup-notify@.service";

/// `OnFailure=backup-notify@%n.service`, with why.
pub(super) fn on_failure(s: &mut String) {
    writeln!(
        s,
        "# On failure (also when killed: timeout, OOM, a crash) systemd starts\n\
         # backup-notify@<this unit>; see that template for how to alert."
    )
    .unwrap();
    writeln!(s, "OnFailure=backup-notify@%n.service").unwrap();
}

/// `backup-notify@.service`: the hook point of the services' `OnFailure=`.
/// By default it logs one error line naming the failed unit; an operator
/// alerts with a drop-in replacing its `ExecStart=`.
fn notify_template(config: &Config) -> Result<String, InstallError> {
    let mut s = header(config, "backup-notify@.service")?;
    writeln!(s, "[Unit]").unwrap();
    writeln!(s, "Description=Report the failure of %i (backup)").unwrap();
    writeln!(s, "\n[Service]\nType=oneshot").unwrap();
    for line in [
        "# Started by OnFailure= of every backup unit when it fails, %i being",
        "# the failed unit, also when it was killed (timeout, OOM, a crash) and",
        "# could not run its own notify.on_failure. By default it logs an error",
        "# naming the unit. To alert, replace ExecStart= in a drop-in",
        "# (systemctl edit backup-notify@.service):",
        "#   [Service]",
        "#   ExecStart=",
        "#   ExecStart=/usr/local/sbin/alert-admins %i",
        "# systemd 251 and later give it MONITOR_SERVICE_RESULT, MONITOR_EXIT_CODE,",
        "# MONITOR_EXIT_STATUS, MONITOR_UNIT and MONITOR_INVOCATION_ID. A run that",
        "# failed by itself (MONITOR_SERVICE_RESULT=exit-code) has already run",
        "# notify.on_failure and pinged its healthcheck_url; the others have not.",
    ] {
        writeln!(s, "{line}").unwrap();
    }
    writeln!(
        s,
        "ExecStart=/bin/sh -c 'echo \"<3>%i failed: journalctl -u %i\" >&2'"
    )
    .unwrap();
    Ok(s)
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
    on_failure(&mut s);
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
