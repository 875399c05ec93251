//! The pieces the job's units ([`super::systemd`]) and the drill's units
//! ([`super::drill_units`]) share: unit names, the header, `ExecStart=` and
//! its environment, and the sandbox.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::quote::{self, exec_arg};
use super::{check_job, config_path, header_line, InstallError, Options, CACHE_DIR, STATE_DIR};
use crate::config::{Config, Job, PasswordSource};

/// Longest unit name systemd accepts (`UNIT_NAME_MAX`).
const UNIT_NAME_MAX: usize = 255;

/// `backup-<job>`. Job names are letters, digits, `-` and `_` (the
/// configuration checks), all of which systemd takes in a unit name as
/// they are: nothing needs `systemd-escape`. Anything else is refused.
pub(super) fn unit_base(job: &str) -> Result<String, InstallError> {
    check_job(job)?;
    let base = format!("backup-{job}");
    if base.len() + ".service".len() > UNIT_NAME_MAX {
        return Err(InstallError::Job {
            job: job.to_string(),
            reason: "the unit name would be longer than 255 characters".into(),
        });
    }
    Ok(base)
}

/// The first lines of a unit: whose it is, and not to edit it.
pub(super) fn header(config: &Config, unit: &str) -> Result<String, InstallError> {
    // Checked for control characters, so the header stays one line.
    config_path(config)?;
    Ok(format!(
        "{}\n# Do not edit: the next install overwrites it, `backup schedule remove`\n\
         # deletes it. Local changes go in a drop-in: systemctl edit {unit}\n\n",
        header_line(&config.path)
    ))
}

/// `5min`, `90s`: whole minutes when they are.
pub(super) fn delay_text(d: jiff::SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    match secs % 60 {
        0 => format!("{}min", secs / 60),
        _ => format!("{secs}s"),
    }
}

/// `ExecStart=` running `backup --config CONFIG ARGS`, then the cache
/// directory, state directory, umask and the repository's credential. No
/// variable moves the state directory: a unit, cron and a shell find the
/// same catalogs (the configuration's `state_dir`, else /var/lib/backup).
pub(super) fn service_basics(
    s: &mut String,
    config: &Config,
    job: &Job,
    options: &Options,
    args: &[&str],
) -> Result<(), InstallError> {
    let binary = quote::plain_path("binary", &options.binary)?;
    let config_file = config_path(config)?;
    let mut exec = vec![binary.as_str(), "--config", &config_file];
    exec.extend(args);
    let exec: Vec<String> = exec.iter().map(|w| exec_arg(w)).collect();
    writeln!(s, "ExecStart={}", exec.join(" ")).unwrap();
    writeln!(
        s,
        "# Metadata caches only. The catalogs (job and drill history) are in the\n\
         # state directory (state_dir, default /var/lib/backup), shared with cron\n\
         # and shells."
    )
    .unwrap();
    writeln!(s, "Environment=BACKUP_CACHE_DIR={CACHE_DIR}").unwrap();
    writeln!(s, "CacheDirectory=backup\nCacheDirectoryMode=0700").unwrap();
    writeln!(s, "StateDirectory=backup\nStateDirectoryMode=0700").unwrap();
    writeln!(s, "UMask=0077").unwrap();
    if let Some(repo) = config.repositories.get(&job.repository) {
        if let PasswordSource::Credential(name) = &repo.password {
            let line = credential_line(name, &options.credential_dir, job)?;
            writeln!(s, "# The passphrase of repository {}.", repo.name).unwrap();
            writeln!(s, "LoadCredential={line}").unwrap();
        }
    }
    Ok(())
}

/// `ProtectSystem=strict` but for `paths`, and the other sandbox settings.
pub(super) fn sandbox(s: &mut String, paths: Vec<PathBuf>) -> Result<(), InstallError> {
    writeln!(s, "ProtectSystem=strict\nProtectHome=read-only").unwrap();
    for path in paths {
        let text = quote::plain_path("writable path", &path)?;
        writeln!(s, "ReadWritePaths={}", quote::value(&format!("-{text}"))).unwrap();
    }
    writeln!(s, "PrivateTmp=yes\nNoNewPrivileges=yes").unwrap();
    Ok(())
}

fn credential_line(name: &str, dir: &Path, job: &Job) -> Result<String, InstallError> {
    let ok_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !ok_name {
        return Err(InstallError::Job {
            job: job.name.clone(),
            reason: format!(
                "credential name {name:?}: LoadCredential= takes letters, digits, '-', '_', '.', '@'"
            ),
        });
    }
    let source = quote::plain_path("credential file", &dir.join(name))?;
    let source = quote::credential_path(&source).ok_or_else(|| InstallError::Path {
        what: "credential file",
        path: dir.join(name),
        reason: "LoadCredential= takes no whitespace, quotes or backslashes in it",
    })?;
    Ok(format!("{name}:{source}"))
}

/// What a run writes besides the cache and `/var/lib/backup` (which
/// `CacheDirectory=`/`StateDirectory=` make writable): the state directory,
/// a local repository, the metrics file's directory. Prefixed with `-` in
/// the unit, so a missing one is the tool's error (which names it), not a
/// namespace set-up failure.
pub(super) fn writable_paths(config: &Config, job: &Job) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(state) = config.state_dir.as_ref() {
        let state = Path::new("/").join(state);
        if state != Path::new(STATE_DIR) {
            paths.push(state);
        }
    }
    if let Some(repo) = config.repositories.get(&job.repository) {
        let location = repo.location.as_str();
        let local = location.strip_prefix("file://").unwrap_or(location);
        if !local.contains("://") {
            // A relative location is relative to the unit's working directory, /.
            paths.push(Path::new("/").join(local));
        }
    }
    if let Some(dir) = config.metrics_file.as_ref().and_then(|f| f.parent()) {
        paths.push(Path::new("/").join(dir));
    }
    paths.dedup();
    paths
}
