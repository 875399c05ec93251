//! `backup config check`.

use anyhow::Result;
use backup_core::Repository;
use backup_zfs::Zfs;

use crate::cli::{ConfigCommand, GlobalArgs};
use crate::context;
use crate::exit::ExitStatus;
use crate::password;

// A `Result` like every command's `run`, for the dispatch in main.
#[allow(clippy::unnecessary_wraps)]
pub fn run(g: &GlobalArgs, c: &ConfigCommand) -> Result<ExitStatus> {
    let ConfigCommand::Check { offline } = c;
    let config = match backup_ops::config::load(&g.config) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            println!("{} mistake(s) in {}", errors.len(), g.config.display());
            return Ok(ExitStatus::Usage);
        }
    };
    let mut errors = Vec::new();
    if !offline {
        let zfs = Zfs::new();
        for (name, job) in &config.jobs {
            for (i, ds) in job.datasets.iter().enumerate() {
                let key = format!("jobs.{name}.datasets[{i}]");
                match zfs.dataset_exists(ds) {
                    Ok(true) => {}
                    Ok(false) => {
                        errors.push(config.error_at(&key, format!("dataset {ds} does not exist")));
                    }
                    Err(e) => errors
                        .push(config.error_at(&key, format!("cannot ask zfs about {ds}: {e}"))),
                }
            }
        }
        for (name, r) in &config.repositories {
            let key = format!("repositories.{name}.location");
            let opened = password::from_source(&r.password).and_then(|pass| {
                let backend = context::open_spec_backend(g, r, None)?;
                Ok(Repository::open_with_limits(
                    backend,
                    &pass,
                    context::kdf_limits(g),
                )?)
            });
            if let Err(e) = opened {
                errors.push(config.error_at(
                    &key,
                    format!("cannot open repository {}: {e:#}", r.location),
                ));
            }
        }
    }
    for e in &errors {
        println!("{e}");
    }
    if errors.is_empty() {
        println!(
            "{}: {} job(s), {} repository(ies){}: no mistakes",
            g.config.display(),
            config.jobs.len(),
            config.repositories.len(),
            if *offline { " (offline check)" } else { "" }
        );
        Ok(ExitStatus::Success)
    } else {
        println!("{} mistake(s) in {}", errors.len(), g.config.display());
        Ok(ExitStatus::Usage)
    }
}
