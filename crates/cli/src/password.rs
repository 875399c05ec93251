//! Where the passphrase comes from: a file, a command, or the environment;
//! never the command line.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

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

impl PasswordArgs {
    /// The passphrase, from the first source given: --password-file,
    /// --password-command, $BACKUP_PASSWORD.
    pub fn passphrase(&self) -> Result<Vec<u8>> {
        let p = if let Some(f) = &self.password_file {
            let bytes = std::fs::read(f)
                .with_context(|| format!("reading the passphrase file {}", f.display()))?;
            strip_newline(
                bytes
                    .split(|b| *b == b'\n')
                    .next()
                    .unwrap_or_default()
                    .to_vec(),
            )
        } else if let Some(cmd) = &self.password_command {
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
            strip_newline(out.stdout)
        } else if let Some(v) = std::env::var_os("BACKUP_PASSWORD") {
            v.into_encoded_bytes()
        } else {
            return Err(UsageError(
                "no passphrase given: use --password-file, --password-command, BACKUP_PASSWORD_FILE or BACKUP_PASSWORD"
                    .into(),
            )
            .into());
        };
        if p.is_empty() {
            return Err(UsageError("the passphrase given is empty".into()).into());
        }
        Ok(p)
    }
}
