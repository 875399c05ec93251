//! Where the passphrase comes from: a file, a command, or the environment;
//! never the command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use backup_ops::config::PasswordSource;

use crate::exit::UsageError;

/// The passphrase sources given on the command line or in the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct PasswordArgs {
    /// Read the passphrase from this file (first line); not with --password-command
    #[arg(long, env = "BACKUP_PASSWORD_FILE", global = true, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Run this shell command and read the passphrase from its output
    #[arg(
        long,
        env = "BACKUP_PASSWORD_COMMAND",
        global = true,
        value_name = "COMMAND"
    )]
    pub password_command: Option<String>,
    /// $BACKUP_PASSWORD, taken out of the environment at start
    /// ([`PasswordArgs::take_from_environment`]).
    #[arg(skip)]
    pub env_password: Option<OsString>,
}

/// The environment variables that carry a passphrase or say where to get
/// one. `backup` reads them at start and removes them from its own
/// environment, so that no child inherits them.
///
/// `CREDENTIALS_DIRECTORY` is not among them: it names the directory where
/// systemd put the unit's credentials (a passphrase among them perhaps),
/// holds no secret itself, and a hook may need a credential of its own.
pub const PASSPHRASE_VARIABLES: [&str; 3] = [
    "BACKUP_PASSWORD",
    "BACKUP_PASSWORD_FILE",
    "BACKUP_PASSWORD_COMMAND",
];

fn strip_newline(mut v: Vec<u8>) -> Vec<u8> {
    if v.last() == Some(&b'\n') {
        v.pop();
        if v.last() == Some(&b'\r') {
            v.pop();
        }
    }
    v
}

fn from_file(f: &std::path::Path) -> Result<Vec<u8>> {
    let bytes =
        std::fs::read(f).with_context(|| format!("reading the passphrase file {}", f.display()))?;
    Ok(strip_newline(
        bytes
            .split(|b| *b == b'\n')
            .next()
            .unwrap_or_default()
            .to_vec(),
    ))
}

fn from_command(cmd: &str) -> Result<Vec<u8>> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running the passphrase command {cmd:?}"))?;
    if !out.status.success() {
        bail!("the passphrase command {cmd:?} failed ({})", out.status);
    }
    Ok(strip_newline(out.stdout))
}

fn non_empty(p: Vec<u8>) -> Result<Vec<u8>> {
    if p.is_empty() {
        return Err(UsageError("the passphrase given is empty".into()).into());
    }
    Ok(p)
}

/// The passphrase from a configuration file's source.
pub fn from_source(source: &PasswordSource) -> Result<Vec<u8>> {
    non_empty(match source {
        PasswordSource::File(f) => from_file(f)?,
        PasswordSource::Command(c) => from_command(c)?,
        PasswordSource::Credential(name) => {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                UsageError(format!(
                    "the passphrase is the systemd credential {name:?}, but CREDENTIALS_DIRECTORY is not set (run from the unit, or use password_file)"
                ))
            })?;
            from_file(&PathBuf::from(dir).join(name))?
        }
    })
}

impl PasswordArgs {
    /// Keeps $BACKUP_PASSWORD (clap has read the file and command variables
    /// already) and removes every [`PASSPHRASE_VARIABLES`] from this
    /// process's environment, so that no child (`zfs`, `ssh`, hooks, drill
    /// probes, the passphrase command itself, which needs none of them)
    /// inherits a passphrase or where to find one.
    ///
    /// Call it first thing in `main`, before anything starts a thread: the
    /// environment is not safe to change while another thread reads it
    /// (`std::env::remove_var` is safe to call in edition 2021, but racy).
    pub fn take_from_environment(&mut self) {
        self.env_password = std::env::var_os("BACKUP_PASSWORD");
        for v in PASSPHRASE_VARIABLES {
            std::env::remove_var(v);
        }
    }

    /// Refuses a passphrase file and a passphrase command given together
    /// (as flags or in the environment): which one wins would be a guess.
    pub fn check(&self) -> Result<()> {
        if let (Some(f), Some(c)) = (&self.password_file, &self.password_command) {
            return Err(UsageError(format!(
                "both a passphrase file ({}, --password-file or BACKUP_PASSWORD_FILE) and a passphrase command ({c:?}, --password-command or BACKUP_PASSWORD_COMMAND) are given: use one",
                f.display()
            ))
            .into());
        }
        Ok(())
    }

    /// The passphrase, from the source given: --password-file,
    /// --password-command (not both, [`PasswordArgs::check`]), else
    /// $BACKUP_PASSWORD.
    pub fn passphrase(&self) -> Result<Vec<u8>> {
        self.check()?;
        non_empty(if let Some(f) = &self.password_file {
            from_file(f)?
        } else if let Some(cmd) = &self.password_command {
            from_command(cmd)?
        } else if let Some(v) = &self.env_password {
            v.clone().into_encoded_bytes()
        } else {
            return Err(UsageError(
                "no passphrase given: use --password-file, --password-command, BACKUP_PASSWORD_FILE, BACKUP_PASSWORD_COMMAND or BACKUP_PASSWORD"
                    .into(),
            )
            .into());
        })
    }

    /// True if any source was given on the command line or in the environment.
    pub fn given(&self) -> bool {
        self.password_file.is_some()
            || self.password_command.is_some()
            || self.env_password.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(file: Option<&str>, command: Option<&str>) -> PasswordArgs {
        PasswordArgs {
            password_file: file.map(PathBuf::from),
            password_command: command.map(String::from),
            env_password: None,
        }
    }

    #[test]
    fn a_passphrase_file_and_a_passphrase_command_together_are_refused() {
        let both = args(Some("/etc/backup/pass"), Some("pass show nas"));
        let e = both.check().unwrap_err();
        assert!(e.is::<UsageError>(), "{e}");
        let text = e.to_string();
        for part in [
            "/etc/backup/pass",
            "--password-file",
            "BACKUP_PASSWORD_FILE",
            "\"pass show nas\"",
            "--password-command",
            "BACKUP_PASSWORD_COMMAND",
        ] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
        assert!(both.passphrase().unwrap_err().is::<UsageError>());
        args(Some("/etc/backup/pass"), None).check().unwrap();
        args(None, Some("pass show nas")).check().unwrap();
        args(None, None).check().unwrap();
    }

    #[test]
    fn the_passphrase_from_the_environment_is_the_one_taken_at_start() {
        let mut a = args(None, None);
        a.env_password = Some("s3cret".into());
        assert!(a.given());
        assert_eq!(a.passphrase().unwrap(), b"s3cret");
    }
}
