//! `backup key list | export | check | add`: the repository's key slots. An
//! exported key slot and its passphrase open the repository on their own
//! (`drill run --key-file` proves it), which is what escrow needs.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use backup_core::{KdfParams, Repository};
use backup_ops::config::PasswordSource;

use crate::cli::{GlobalArgs, KeyCommand};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::password;

pub fn run(g: &GlobalArgs, c: &KeyCommand) -> Result<ExitStatus> {
    match c {
        KeyCommand::List { json } => list(g, *json),
        KeyCommand::Export { output } => export(g, output),
        KeyCommand::Check { key_file } => check(g, key_file),
        KeyCommand::Add {
            new_password_file,
            kdf_memory,
            kdf_iterations,
        } => add(g, new_password_file, *kdf_memory, *kdf_iterations),
    }
}

fn list(g: &GlobalArgs, json: bool) -> Result<ExitStatus> {
    let backend = context::backend(g)?;
    let slots = Repository::key_slots(&*backend)
        .with_context(|| format!("listing the keys of repository {}", backend.location()))?;
    if json {
        let v: Vec<serde_json::Value> = slots
            .iter()
            .map(|(name, slot)| match slot {
                Ok(s) => serde_json::json!({
                    "name": name, "created": s.created, "host": s.hostname,
                    "kdf": s.kdf, "params": s.params,
                }),
                Err(e) => serde_json::json!({ "name": name, "error": e.to_string() }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitStatus::Success);
    }
    for (name, slot) in &slots {
        match slot {
            Ok(s) => println!(
                "{name}  created {} on {}  {} m={} KiB t={} p={}",
                s.created,
                s.hostname,
                s.kdf,
                s.params.memory_kib,
                s.params.iterations,
                s.params.parallelism
            ),
            Err(e) => println!("{name}  UNREADABLE: {e}"),
        }
    }
    if slots.is_empty() {
        println!("no key slots in repository {}", backend.location());
    }
    Ok(ExitStatus::Success)
}

fn export(g: &GlobalArgs, output: &Path) -> Result<ExitStatus> {
    let repo = context::open_repo(g)?;
    write_new(output, repo.key_bytes())?;
    println!(
        "exported key slot {} of repository {} to {}",
        repo.key_name(),
        repo.id().to_hex(),
        output.display()
    );
    println!(
        "keep it off-site together with its passphrase; `backup drill run JOB --key-file {}` proves they open the repository",
        output.display()
    );
    Ok(ExitStatus::Success)
}

fn check(g: &GlobalArgs, key_file: &Path) -> Result<ExitStatus> {
    let location = context::location(g)?;
    let repo = context::open_with_key_file(g, &location, key_file)?;
    println!(
        "{} and the passphrase open repository {} at {location}",
        key_file.display(),
        repo.id().to_hex()
    );
    Ok(ExitStatus::Success)
}

/// Writes a new file, mode 0600, refusing to replace one.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow::Error::new(UsageError(format!(
                "{} exists; not overwriting it (remove it or choose another --output)",
                path.display()
            ))),
            _ => anyhow::Error::new(e).context(format!("creating {}", path.display())),
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn add(g: &GlobalArgs, new: &Path, memory_kib: u32, iterations: u32) -> Result<ExitStatus> {
    let kdf = KdfParams {
        memory_kib,
        iterations,
        ..KdfParams::default()
    };
    context::check_new_kdf(g, &kdf)?;
    let repo = context::open_repo(g)?;
    let pass = password::from_source(&PasswordSource::File(new.to_path_buf()))?;
    let name = repo
        .add_key(&pass, kdf)
        .with_context(|| format!("adding a key to repository {}", repo.id().to_hex()))?;
    println!(
        "added key slot {name} for the passphrase in {}",
        new.display()
    );
    Ok(ExitStatus::Success)
}
