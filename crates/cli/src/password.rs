//! Where the passphrase comes from: a file, a command, or the environment;
//! never the command line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use backup_ops::config::PasswordSource;

use crate::exit::UsageError;

/// The passphrase sources given on the command line or in the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct PasswordArgs {
    /// Read the passphrase from this file (first line)
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
}

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
    /// The passphrase, from the first source given: --password-file,
    /// --password-command, $BACKUP_PASSWORD.
    pub fn passphrase(&self) -> Result<Vec<u8>> {
        non_empty(if let Some(f) = &self.password_file {
            from_file(f)?
        } else if let Some(cmd) = &self.password_command {
            from_command(cmd)?
        } else if let Some(v) = std::env::var_os("BACKUP_PASSWORD") {
            v.into_encoded_bytes()
        } else {
            return Err(UsageError(
                "no passphrase given: use --password-file, --password-command, BACKUP_PASSWORD_FILE or BACKUP_PASSWORD"
                    .into(),
            )
            .into());
        })
    }

    /// True if any source was given on the command line or in the environment.
    pub fn given(&self) -> bool {
        self.password_file.is_some()
            || self.password_command.is_some()
            || std::env::var_os("BACKUP_PASSWORD").is_some()
    }
}
