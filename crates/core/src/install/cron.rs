//! `/etc/cron.d/backup`: one line per scheduled job.
//!
//! A job scheduled with cron's five fields runs at those times. A job
//! scheduled with a calendar event (which cron cannot express) runs
//! `backup run --due` every five minutes and the tool's own scheduler
//! decides, catching up after downtime as a persistent timer would.

use std::fmt::Write as _;

use super::quote::{self, sh_arg};
use super::{
    check_job, config_path, header_line, schedule_of, GeneratedFile, InstallError, Options,
};
use crate::config::{Config, Job, PasswordSource};
use crate::schedule::Syntax;

/// How often a calendar-scheduled job asks whether it is due.
const DUE_EVERY: &str = "*/5 * * * *";

/// The cron.d file for `jobs` (those without a schedule are left out).
pub fn cron_file(
    config: &Config,
    jobs: &[&Job],
    options: &Options,
) -> Result<GeneratedFile, InstallError> {
    let binary = quote::plain_path("binary", &options.binary)?;
    let config_file = config_path(config)?;
    let mut s = format!(
        "{}\n# Do not edit: the next install overwrites it, `backup schedule remove`\n\
         # deletes it. Jobs with a calendar schedule ask every 5 minutes whether\n\
         # they are due (backup run --due); the tool decides.\n",
        header_line(&config.path)
    );
    writeln!(s, "SHELL=/bin/sh").unwrap();
    writeln!(
        s,
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    )
    .unwrap();
    for job in jobs {
        let Some(schedule) = schedule_of(job)? else {
            continue;
        };
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
        let when = match schedule.syntax() {
            Syntax::Cron => schedule.to_string(),
            _ => {
                command.push("--due".into());
                DUE_EVERY.to_string()
            }
        };
        command.push(sh_arg(&job.name));
        writeln!(s, "\n# job {}: {}", job.name, schedule).unwrap();
        writeln!(s, "{when} root {}", command.join(" ")).unwrap();
    }
    Ok(GeneratedFile {
        path: options.cron_file.clone(),
        content: s,
    })
}
