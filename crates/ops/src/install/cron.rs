//! `/etc/cron.d/backup`: one line per scheduled job.
//!
//! A job scheduled with cron's five fields runs at those times. A job
//! scheduled with a calendar event (which cron cannot express) runs
//! `backup run --due` every five minutes and the tool's own scheduler
//! decides, catching up after downtime as a persistent timer would.
//!
//! `run --due` also runs the due restore drills, so a job with a drill
//! table always asks every five minutes, whatever its schedule syntax (the
//! tool decides both the job's and the drill's), and a job with a drill
//! but no schedule gets a line for its drill alone.
//!
//! A job's scheduled verification (`check_every`) runs after its run,
//! `run JOB` or `run --due`, whenever it is due; a job with `check_every`
//! but no schedule and no drill gets a `run --due` line for it alone.

use std::fmt::Write as _;

use super::quote::{self, sh_arg};
use super::{
    check_job, config_path, header_line, schedule_of, GeneratedFile, InstallError, Options,
};
use crate::config::{Config, Job, PasswordSource};
use crate::schedule::Syntax;

/// How often a calendar-scheduled job asks whether it is due.
const DUE_EVERY: &str = "*/5 * * * *";

/// The cron.d file for `jobs` (those with no schedule, no drill and no
/// `check_every` are left out).
pub fn cron_file(
    config: &Config,
    jobs: &[&Job],
    options: &Options,
) -> Result<GeneratedFile, InstallError> {
    let binary = quote::plain_path("binary", &options.binary)?;
    let config_file = config_path(config)?;
    let mut s = format!(
        "{}\n# Do not edit: the next install overwrites it, `backup schedule remove`\n\
         # deletes it. Jobs with a calendar schedule or a restore drill ask every\n\
         # 5 minutes whether they (or their drills) are due (backup run --due);\n\
         # the tool decides.\n",
        header_line(&config.path)
    );
    writeln!(s, "SHELL=/bin/sh").unwrap();
    writeln!(
        s,
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    )
    .unwrap();
    for job in jobs {
        let schedule = schedule_of(job)?;
        if schedule.is_none() && job.drill.is_none() && job.check_every.is_none() {
            continue;
        }
        check_job(&job.name)?;
        let mut command = Vec::new();
        if let Some(repo) = config.repositories.get(&job.repository) {
            if let PasswordSource::Credential(_) = &repo.password {
                // The tool reads $CREDENTIALS_DIRECTORY/NAME, as under systemd.
                let dir = quote::plain_path("credential directory", &options.credential_dir)?;
                command.push(format!("CREDENTIALS_DIRECTORY={}", sh_arg(&dir)));
            }
        }
        command.extend([binary.as_str(), "-q", "--config", &config_file, "run"].map(sh_arg));
        let when = match &schedule {
            Some(s) if s.syntax() == Syntax::Cron && job.drill.is_none() => s.to_string(),
            _ => {
                command.push("--due".into());
                DUE_EVERY.to_string()
            }
        };
        command.push(sh_arg(&job.name));
        let what = match (&schedule, &job.drill) {
            (Some(s), None) => s.to_string(),
            (Some(s), Some(d)) => format!("{s}; drill: {}", d.schedule),
            (None, Some(d)) => format!("no schedule; drill: {}", d.schedule),
            (None, None) => "no schedule; check_every only".to_string(),
        };
        writeln!(s, "\n# job {}: {what}", job.name).unwrap();
        writeln!(s, "{when} root {}", command.join(" ")).unwrap();
    }
    Ok(GeneratedFile {
        path: options.cron_file.clone(),
        content: s,
    })
}
