//! The checks of a configuration against the system that `config check`
//! makes unless `--offline`: the datasets exist, each `exclude` matches a
//! dataset, each drill's `scratch_parent` exists, each passphrase file can
//! be read. Opening the repositories is the caller's (it needs the
//! passphrase and the backends). Each finding is placed on its own key.
//!
//! A missing dataset or scratch parent is an error: the run or the drill
//! would fail. An exclude that matches nothing is a warning: nothing breaks
//! (it may name a dataset not made yet), but it is most often a typo that
//! would let the subtree it meant to leave out be shipped.

use backup_zfs::{DatasetName, Zfs};

use super::{Config, ConfigError, PasswordSource, Scratch};

/// What the checks ask of ZFS; [`Zfs`] is one, tests use a fake.
pub trait Lookup {
    /// Whether the dataset exists; `Err` with why zfs could not say.
    fn dataset_exists(&self, ds: &DatasetName) -> Result<bool, String>;
}

impl Lookup for Zfs {
    fn dataset_exists(&self, ds: &DatasetName) -> Result<bool, String> {
        Zfs::dataset_exists(self, ds).map_err(|e| e.to_string())
    }
}

/// Every finding of the checks against the system, in file order.
pub fn check_system(config: &Config, zfs: &dyn Lookup) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let mut ask = |key: String, ds: &DatasetName, missing: &dyn Fn() -> ConfigError| match zfs
        .dataset_exists(ds)
    {
        Ok(true) => {}
        Ok(false) => out.push(missing()),
        Err(e) => out.push(config.error_at(&key, format!("cannot ask zfs about {ds}: {e}"))),
    };
    for (name, job) in &config.jobs {
        for (i, ds) in job.datasets.iter().enumerate() {
            let key = format!("jobs.{name}.datasets[{i}]");
            ask(key.clone(), ds, &|| {
                config.error_at(&key, format!("dataset {ds} does not exist"))
            });
        }
        for (i, ds) in job.exclude.iter().enumerate() {
            let key = format!("jobs.{name}.exclude[{i}]");
            ask(key.clone(), ds, &|| {
                config
                    .error_at(
                        &key,
                        format!("dataset {ds} does not exist: the exclude matches nothing"),
                    )
                    .warning()
                    .with_hint("check the name against `zfs list -r`")
            });
        }
        if let Some(Scratch::Under(parent)) = job.drill.as_ref().map(|d| &d.scratch) {
            let key = format!("jobs.{name}.drill.scratch_parent");
            ask(key.clone(), parent, &|| {
                config
                    .error_at(
                        &key,
                        format!(
                            "dataset {parent} does not exist: the drill cannot make its scratch dataset under it"
                        ),
                    )
                    .with_hint(format!(
                        "create it (zfs create {parent}) or leave scratch_parent out for a throwaway pool"
                    ))
            });
        }
    }
    for (name, repo) in &config.repositories {
        if let PasswordSource::File(file) = &repo.password {
            if let Err(e) = std::fs::File::open(file) {
                out.push(config.error_at(
                    &format!("repositories.{name}.password_file"),
                    format!("cannot read the passphrase file {}: {e}", file.display()),
                ));
            }
        }
    }
    out.sort_by_key(|e| (e.line, e.column));
    out
}
