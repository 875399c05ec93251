//! Opening what commands work on: the repository and the catalog.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use backup_core::{open_location, Backend, Catalog, Repository};

use crate::cli::GlobalArgs;
use crate::exit::UsageError;

/// The backend named by --repo / $BACKUP_REPOSITORY.
pub fn backend(g: &GlobalArgs) -> Result<Arc<dyn Backend>> {
    let loc = g.repo.as_deref().ok_or_else(|| {
        UsageError("no repository given: use --repo LOCATION or BACKUP_REPOSITORY".into())
    })?;
    Ok(Arc::from(open_location(loc)?))
}

/// Opens and unlocks the repository.
pub fn open_repo(g: &GlobalArgs) -> Result<Repository> {
    let backend = backend(g)?;
    let pass = g.password.passphrase()?;
    let loc = backend.location();
    Repository::open(backend, &pass).with_context(|| format!("opening repository {loc}"))
}

fn cache_dir(g: &GlobalArgs) -> PathBuf {
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

/// Opens the catalog of `repo` as it is.
pub fn catalog(g: &GlobalArgs, repo: &Repository) -> Result<Catalog> {
    let path = g
        .catalog
        .clone()
        .unwrap_or_else(|| cache_dir(g).join(format!("{}.sqlite", repo.id().to_hex())));
    Ok(Catalog::open(&path)?)
}

/// Opens the catalog of `repo` and brings it up to date.
pub fn synced_catalog(g: &GlobalArgs, repo: &Repository) -> Result<Catalog> {
    let mut cat = catalog(g, repo)?;
    for problem in cat.sync(repo)?.unreadable {
        eprintln!("warning: {problem} (left out of the catalog; run `backup check`)");
    }
    Ok(cat)
}
