//! Opening what commands work on: the repository and the catalog.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use backup_core::{
    open, Backend, BackendOptions, Id, KdfLimits, KdfParams, LockKind, LockOptions, OpenOptions,
    ReadLock, RepoLock, Repository, RetryEvent, RetryNotify,
};
use backup_ops::config::{Config, PasswordSource, RepositorySpec};
use backup_ops::{Adoption, Catalog};

use crate::cli::GlobalArgs;
use crate::exit::UsageError;
use crate::password;

/// The configuration file, checked; every mistake in one error.
pub fn config(g: &GlobalArgs) -> Result<Config> {
    backup_ops::config::load(&g.config).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        UsageError(lines.join("\n")).into()
    })
}

/// The repository --repo / $BACKUP_REPOSITORY names: the configuration
/// file's repository of that name if there is one, else a location. With
/// neither given, the configuration file's repository if it has exactly one.
fn target(g: &GlobalArgs) -> Result<(String, Option<PasswordSource>)> {
    let Some(given) = g.repo.as_deref() else {
        let only = if g.config.exists() {
            let mut all = config(g)?.repositories.into_values();
            match (all.next(), all.next()) {
                (Some(r), None) => Some(r),
                _ => None,
            }
        } else {
            None
        };
        return only
            .map(|r| (r.location.clone(), Some(r.password.clone())))
            .ok_or_else(|| {
                UsageError(format!(
                    "no repository given: use --repo LOCATION|NAME or BACKUP_REPOSITORY (needed unless {} names exactly one repository)",
                    g.config.display()
                ))
                .into()
            });
    };
    let looks_like_name = !given.contains('/') && !given.contains(':');
    if looks_like_name && g.config.exists() {
        if let Some(r) = config(g)?.repositories.get(given) {
            return Ok((r.location.clone(), Some(r.password.clone())));
        }
    }
    Ok((given.to_string(), None))
}

/// The location of the repository --repo / $BACKUP_REPOSITORY names.
pub fn location(g: &GlobalArgs) -> Result<String> {
    Ok(target(g)?.0)
}

/// The backend named by --repo / $BACKUP_REPOSITORY.
pub fn backend(g: &GlobalArgs) -> Result<Arc<dyn Backend>> {
    open_backend(g, &target(g)?.0, None)
}

/// The configuration's repository at `location`, if the file exists, is
/// valid and has one.
fn spec_at(g: &GlobalArgs, location: &str) -> Option<RepositorySpec> {
    if !g.config.exists() {
        return None;
    }
    let config = backup_ops::config::load(&g.config).ok()?;
    config
        .repositories
        .into_values()
        .find(|r| r.location == location)
}

/// How to open a backend: the configuration's settings for its repository
/// (`spec`), then the environment and the command line (which win), then a
/// job's own upload limit if it is lower.
fn backend_options(
    g: &GlobalArgs,
    spec: Option<&RepositorySpec>,
    job_limit_upload: Option<u64>,
) -> Result<BackendOptions> {
    let mut o = spec.map(|s| s.backend.clone()).unwrap_or_default();
    if let Some((spec, file)) = spec.and_then(|s| Some((s, s.s3_secret_file.as_ref()?))) {
        let text = std::fs::read_to_string(file).with_context(|| {
            format!(
                "reading the S3 secret key of repository {} from {}",
                spec.name,
                file.display()
            )
        })?;
        o.s3.secret_access_key = text.lines().next().map(|l| l.trim().to_string());
    }
    if let Some(u) = job_limit_upload {
        o.limit_upload = Some(o.limit_upload.map_or(u, |r| r.min(u)));
    }
    let rate = |flag: &str, v: &str| {
        backup_ops::config::rate(v).map_err(|e| UsageError(format!("{flag}: {e}")))
    };
    if let Some(v) = &g.limit_upload {
        o.limit_upload = Some(rate("--limit-upload", v)?);
    }
    if let Some(v) = &g.limit_download {
        o.limit_download = Some(rate("--limit-download", v)?);
    }
    if let Some(n) = g.transfers {
        if !(1..=64).contains(&n) {
            return Err(UsageError("--transfers: from 1 to 64".into()).into());
        }
        o.transfers = Some(n);
    }
    o.cache_dir = Some(cache_dir(g));
    Ok(o)
}

/// Opens the backend at `location` with the settings of the configuration's
/// repository there, if any (see [`backend_options`]).
pub fn open_backend(
    g: &GlobalArgs,
    location: &str,
    job_limit_upload: Option<u64>,
) -> Result<Arc<dyn Backend>> {
    let spec = spec_at(g, location);
    open_backend_with(g, location, spec.as_ref(), job_limit_upload)
}

/// Opens the backend of the configuration's repository `spec`.
pub fn open_spec_backend(
    g: &GlobalArgs,
    spec: &RepositorySpec,
    job_limit_upload: Option<u64>,
) -> Result<Arc<dyn Backend>> {
    open_backend_with(g, &spec.location, Some(spec), job_limit_upload)
}

/// Opens a backend; transient failures that will be retried are reported
/// as warnings.
fn open_backend_with(
    g: &GlobalArgs,
    location: &str,
    spec: Option<&RepositorySpec>,
    job_limit_upload: Option<u64>,
) -> Result<Arc<dyn Backend>> {
    let options = backend_options(g, spec, job_limit_upload)?;
    let quiet = g.quiet;
    let notify: RetryNotify = Arc::new(move |e: &RetryEvent<'_>| {
        if !quiet {
            crate::journal::warning!(
                "warning: {} {} failed (attempt {} of {}): {}; retrying in {:.1}s",
                e.op,
                e.object,
                e.attempt,
                e.attempts,
                crate::format::error_chain(e.error),
                e.delay.as_secs_f64()
            );
        }
    });
    Ok(Arc::from(open(location, &options, Some(notify))?))
}

/// The passphrase: from the command line or environment if given there,
/// else from the configuration file's source for the repository.
pub fn passphrase(g: &GlobalArgs) -> Result<Vec<u8>> {
    match target(g)?.1 {
        Some(source) if !g.password.given() => password::from_source(&source),
        _ => g.password.passphrase(),
    }
}

/// Opens and unlocks the configuration file's repository `name`.
pub fn open_named(g: &GlobalArgs, config: &Config, name: &str) -> Result<Repository> {
    open_named_limited(g, config, name, None)
}

/// Opens and unlocks the configuration file's repository `name` for a job
/// with its own upload limit.
pub fn open_named_limited(
    g: &GlobalArgs,
    config: &Config,
    name: &str,
    job_limit_upload: Option<u64>,
) -> Result<Repository> {
    let spec = config.repositories.get(name).ok_or_else(|| {
        UsageError(format!(
            "no repository named {name:?} in {}",
            config.path.display()
        ))
    })?;
    if let Some(file) = &g.key_file {
        return open_with_key_file(g, &spec.location, file);
    }
    let pass = if g.password.given() {
        g.password.passphrase()?
    } else {
        password::from_source(&spec.password)?
    };
    let backend = open_spec_backend(g, spec, job_limit_upload)?;
    Repository::open_with_limits(backend, &pass, open_options(g))
        .with_context(|| format!("opening repository {name} at {}", spec.location))
}

/// Opens the repository at `location` with an exported key file (`backup
/// key export`) instead of its key slots. The passphrase is the one given
/// on the command line or in the environment, else the configuration's
/// source for the repository at that location.
pub fn open_with_key_file(g: &GlobalArgs, location: &str, key_file: &Path) -> Result<Repository> {
    let key = std::fs::read(key_file)
        .with_context(|| format!("reading the key file {}", key_file.display()))?;
    let (pass, spec) = if g.password.given() || !g.config.exists() {
        (g.password.passphrase()?, spec_at(g, location))
    } else {
        // The passphrase source must come from a valid configuration.
        let spec = config(g)?
            .repositories
            .into_values()
            .find(|r| r.location == location);
        match spec {
            Some(spec) => (password::from_source(&spec.password)?, Some(spec)),
            None => (g.password.passphrase()?, None),
        }
    };
    let backend = open_backend_with(g, location, spec.as_ref(), None)?;
    let name = key_file.display().to_string();
    Repository::open_with_key(backend, &name, &key, &pass, open_options(g)).with_context(|| {
        format!(
            "opening repository {location} with the key file {}",
            key_file.display()
        )
    })
}

/// Opens and unlocks the repository.
pub fn open_repo(g: &GlobalArgs) -> Result<Repository> {
    if let Some(file) = &g.key_file {
        return open_with_key_file(g, &location(g)?, file);
    }
    let backend = backend(g)?;
    let pass = passphrase(g)?;
    let loc = backend.location();
    Repository::open_with_limits(backend, &pass, open_options(g))
        .with_context(|| format!("opening repository {loc}"))
}

/// How commands open a repository: the accepted Argon2id costs, and the
/// cache directory, where the blob index is kept on disk.
pub fn open_options(g: &GlobalArgs) -> OpenOptions {
    OpenOptions {
        kdf: kdf_limits(g),
        cache_dir: Some(cache_dir(g)),
    }
}

/// The Argon2id costs accepted from a key slot (`--allow-expensive-kdf`).
pub fn kdf_limits(g: &GlobalArgs) -> KdfLimits {
    if g.allow_expensive_kdf {
        KdfLimits::NONE
    } else {
        KdfLimits::DEFAULT
    }
}

/// Refuses to make a key slot whose costs a later command would not accept.
pub fn check_new_kdf(g: &GlobalArgs, kdf: &KdfParams) -> Result<()> {
    kdf_limits(g).check(kdf).map_err(|over| {
        UsageError(format!(
            "Argon2id costs over the limit: {over}; every later command would refuse the slot unless given --allow-expensive-kdf, so give it here too if that is meant"
        ))
        .into()
    })
}

/// The cache directory: metadata caches only, which can be thrown away.
pub fn cache_dir(g: &GlobalArgs) -> PathBuf {
    if let Some(d) = &g.cache_dir {
        return d.clone();
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("backup");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(".cache/backup"),
        None => PathBuf::from("/var/cache/backup"),
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe {
        libc::geteuid() == 0
    }
}

/// The state directory when neither --state-dir nor the configuration
/// names one.
fn default_state_dir() -> PathBuf {
    backup_ops::config::default_state_dir(
        is_root(),
        std::env::var_os("XDG_STATE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

/// The state directory: --state-dir / $BACKUP_STATE_DIR, else the
/// configuration's `state_dir`, else the default (/var/lib/backup as root).
/// Catalogs, job locks, drill scratch space and drill reports live there.
pub fn state_dir(g: &GlobalArgs, config: &Config) -> PathBuf {
    g.state_dir
        .clone()
        .or_else(|| config.state_dir.clone())
        .unwrap_or_else(default_state_dir)
}

/// The state directory for a command that may run without a valid
/// configuration: as [`state_dir`], the file's `state_dir` read leniently
/// ([`backup_ops::config::state_dir_in`]).
pub fn state_dir_anyway(g: &GlobalArgs) -> PathBuf {
    if let Some(d) = &g.state_dir {
        return d.clone();
    }
    std::fs::read_to_string(&g.config)
        .ok()
        .and_then(|text| backup_ops::config::state_dir_in(&text))
        .unwrap_or_else(default_state_dir)
}

/// Where `drill run` writes its reports unless told otherwise.
pub fn drill_report_dir(g: &GlobalArgs, config: &Config) -> PathBuf {
    state_dir(g, config).join("drills")
}

/// Lock timings: --lock-wait, and the default lease.
pub fn lock_options(g: &GlobalArgs) -> Result<LockOptions> {
    let wait = match g.lock_wait.trim() {
        "0" | "0s" => std::time::Duration::ZERO,
        text => backup_ops::config::units::duration(text)
            .map_err(|e| UsageError(format!("--lock-wait: {e}")))?
            .unsigned_abs(),
    };
    Ok(LockOptions {
        wait,
        ..LockOptions::default()
    })
}

/// Takes a repository lock, saying which stale locks it took over.
pub fn lock(
    g: &GlobalArgs,
    repo: &Repository,
    kind: LockKind,
    operation: &str,
) -> Result<RepoLock> {
    let lock = RepoLock::acquire(repo, kind, operation, lock_options(g)?)?;
    for t in lock.taken_over() {
        crate::journal::warning!("warning: removed a stale lock: {t}");
    }
    Ok(lock)
}

/// Takes the shared lock of a command that only reads (restore, check, a
/// drill). On a location that cannot be written (mounted read-only, a
/// read-only account) it goes on without one and warns, once, naming the
/// location and why ([`RepoLock::acquire_for_reading`]).
pub fn read_lock(g: &GlobalArgs, repo: &Repository, operation: &str) -> Result<ReadLock> {
    let lock = RepoLock::acquire_for_reading(repo, operation, lock_options(g)?)?;
    match &lock {
        ReadLock::Held(l) => {
            for t in l.taken_over() {
                crate::journal::warning!("warning: removed a stale lock: {t}");
            }
        }
        ReadLock::NotTaken { location, cause } => {
            let why = match cause {
                backup_core::Error::Backend { source, .. }
                    if source.kind() == std::io::ErrorKind::PermissionDenied =>
                {
                    "not writable"
                }
                _ => "read-only",
            };
            let detail = match cause {
                backup_core::Error::Backend { source, .. } => source.to_string(),
                e => e.to_string(),
            };
            crate::journal::warning!(
                "warning: no lock taken on repository {location} ({why}: {detail}); a prune running elsewhere could remove data this command reads"
            );
        }
    }
    Ok(lock)
}

/// The catalog of the repository at `location`, found from its public id
/// (no passphrase needed).
pub fn catalog_at(g: &GlobalArgs, location: &str) -> Result<Catalog> {
    let backend = open_backend(g, location, None)?;
    let id = Repository::peek_id(&*backend)?;
    Ok(Catalog::open(&catalog_path(g, &id))?)
}

/// Where the catalog of the repository with this id is: --catalog, else
/// `<state dir>/<id>.sqlite`. A catalog left in a cache directory by an
/// older version is adopted first, once, with a note on stderr.
pub fn catalog_path(g: &GlobalArgs, repo_id: &Id) -> PathBuf {
    if let Some(c) = &g.catalog {
        return c.clone();
    }
    let name = format!("{}.sqlite", repo_id.to_hex());
    let path = state_dir_anyway(g).join(&name);
    for dir in legacy_catalog_dirs(g) {
        let old = dir.join(&name);
        match backup_ops::adopt_catalog(&old, &path) {
            Ok(Adoption::Nothing) => {}
            Ok(Adoption::Moved { from, to }) => eprintln!(
                "backup: note: moved the catalog {} to {} (job and drill history now live in the state directory)",
                from.display(),
                to.display()
            ),
            Ok(Adoption::Merged {
                from,
                into,
                runs,
                drills,
                verifications,
            }) => eprintln!(
                "backup: note: merged the history of the catalog {} into {} ({runs} job run(s), {drills} drill(s), {verifications} verification(s) added) and removed it",
                from.display(),
                into.display()
            ),
            Err(e) => eprintln!(
                "backup: warning: the catalog {} (where older versions kept it) was not adopted into {}: {}; its history is not shown",
                old.display(),
                path.display(),
                crate::format::error_chain(&e)
            ),
        }
    }
    path
}

/// Where older versions kept catalogs: the cache directory this process
/// would use, and, as root, the ones of systemd units, cron and a root shell.
fn legacy_catalog_dirs(g: &GlobalArgs) -> Vec<PathBuf> {
    let mut dirs = vec![cache_dir(g)];
    if is_root() {
        dirs.push(PathBuf::from(backup_ops::install::CACHE_DIR));
        dirs.push(PathBuf::from("/root/.cache/backup"));
    }
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let fresh = !seen.contains(d);
        seen.push(d.clone());
        fresh
    });
    dirs
}

/// Opens the catalog of `repo` as it is.
pub fn catalog(g: &GlobalArgs, repo: &Repository) -> Result<Catalog> {
    Ok(Catalog::open(&catalog_path(g, &repo.id()))?)
}

/// Opens the catalog of `repo` and brings it up to date.
pub fn synced_catalog(g: &GlobalArgs, repo: &Repository) -> Result<Catalog> {
    let mut cat = catalog(g, repo)?;
    for problem in cat.sync(repo)?.unreadable {
        crate::journal::warning!(
            "warning: {problem} (left out of the catalog; run `backup check`)"
        );
    }
    Ok(cat)
}
