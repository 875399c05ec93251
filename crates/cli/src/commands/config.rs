//! `backup config check [--offline] [--json]`: every finding in one pass,
//! from the file (the library's checks), from the system (datasets,
//! excludes, scratch parents, passphrase files) and from opening each
//! repository. Exit 2 if any finding is an error; warnings alone exit 0.

use anyhow::Result;
use backup_core::Repository;
use backup_ops::config::{check_system, Config, ConfigError, PasswordSource};
use backup_zfs::Zfs;

use crate::cli::{ConfigCommand, GlobalArgs};
use crate::context;
use crate::exit::ExitStatus;
use crate::password;

pub fn run(g: &GlobalArgs, c: &ConfigCommand) -> Result<ExitStatus> {
    let ConfigCommand::Check { offline, json } = c;
    let checked = backup_ops::config::check_file(&g.config);
    let mut findings = checked.findings;
    if let (Some(config), false) = (&checked.config, *offline) {
        findings.extend(check_system(config, &Zfs::new()));
        let unreadable: Vec<String> = findings.iter().map(|f| f.key.clone()).collect();
        findings.extend(open_repositories(g, config, &unreadable));
        findings.sort_by_key(|f| (f.line, f.column));
    }
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let warnings = findings.len() - errors;
    if *json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else {
        for f in &findings {
            println!("{f}");
        }
        let warned = match warnings {
            0 => String::new(),
            n => format!(", {n} warning(s)"),
        };
        match &checked.config {
            Some(config) if errors == 0 => println!(
                "{}: {} job(s), {} repository(ies){}: no mistakes{warned}",
                g.config.display(),
                config.jobs.len(),
                config.repositories.len(),
                if *offline { " (offline check)" } else { "" }
            ),
            _ => println!("{errors} mistake(s){warned} in {}", g.config.display()),
        }
    }
    Ok(if errors == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Usage
    })
}

/// Opens every repository of the configuration; a passphrase that cannot
/// be had is placed on its source's key, a repository that does not open
/// on its location (with a hint to `init` one that has no config). Keys in
/// `skip` already have a finding.
fn open_repositories(g: &GlobalArgs, config: &Config, skip: &[String]) -> Vec<ConfigError> {
    let mut out = Vec::new();
    for (name, r) in &config.repositories {
        let source_key = format!(
            "repositories.{name}.{}",
            match &r.password {
                PasswordSource::File(_) => "password_file",
                PasswordSource::Command(_) => "password_command",
                PasswordSource::Credential(_) => "password_credential",
            }
        );
        if skip.contains(&source_key) {
            continue;
        }
        let pass = match password::from_source(&r.password) {
            Ok(p) => p,
            Err(e) => {
                out.push(config.error_at(
                    &source_key,
                    format!("cannot get the passphrase of repository {name}: {e:#}"),
                ));
                continue;
            }
        };
        let opened = context::open_spec_backend(g, r, None).and_then(|backend| {
            Ok(Repository::open_with_limits(
                backend,
                &pass,
                context::open_options(g),
            )?)
        });
        if let Err(e) = opened {
            let key = format!("repositories.{name}.location");
            let finding = config.error_at(
                &key,
                format!("cannot open repository {}: {e:#}", r.location),
            );
            let uninitialised = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<backup_core::Error>(),
                    Some(backup_core::Error::NotARepository { .. })
                )
            });
            out.push(if uninitialised {
                finding.with_hint(format!(
                    "to make a new repository there, run `backup init --repo {name}`"
                ))
            } else {
                finding
            });
        }
    }
    out
}
