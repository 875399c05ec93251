//! Adopting a catalog from where older versions kept it (the cache
//! directory) into the state directory, once.
//!
//! Up to 0.x the catalog lived in the cache directory, which differed
//! between systemd units (`/var/cache/backup`), cron and a root shell
//! (`~/.cache/backup`): each had its own history. The catalog now lives in
//! the state directory. A catalog found at an old place is
//!
//! - moved there if the state directory has none yet: the old file is
//!   checkpointed (its `-wal` folded in), then linked (same file system) or
//!   copied with `VACUUM INTO` (another one) to the new name, never over an
//!   existing file, and removed;
//! - merged into it if it has one: the old catalog's history (job runs,
//!   drills, verifications, the last prune) is added where it is missing,
//!   then the old file is removed. Its snapshot rows are not copied: they
//!   are a cache that the next sync fills.
//!
//! Both are idempotent, so two processes adopting at once end with one
//! history and no duplicate rows. The caller says what happened
//! ([`Adoption`]); this module never prints.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::Catalog;
use crate::error::{Error, Result};

/// What [`adopt`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Adoption {
    /// Nothing: no catalog at the old place (or it is the new place).
    Nothing,
    /// The old catalog became the new one.
    Moved {
        /// Where it was.
        from: PathBuf,
        /// Where it is now.
        to: PathBuf,
    },
    /// The old catalog's history was added to the existing new one, and the
    /// old file removed.
    Merged {
        /// Where it was.
        from: PathBuf,
        /// The catalog it was merged into.
        into: PathBuf,
        /// Job runs added (those already there are not counted).
        runs: usize,
        /// Drills added.
        drills: usize,
        /// Verifications added.
        verifications: usize,
    },
}

/// Moves or merges the catalog at `old` into `new` (see the module
/// documentation).
pub fn adopt(old: &Path, new: &Path) -> Result<Adoption> {
    if !old.exists() || same_file(old, new) {
        return Ok(Adoption::Nothing);
    }
    // Opening migrates it to this build's schema; the checkpoint folds the
    // write-ahead log into the main file, so the file alone is the catalog.
    {
        let cat = Catalog::open(old)?;
        cat.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| cat.err(e))?;
    }
    if !new.exists() {
        Catalog::ensure_dir(new)?;
        match std::fs::hard_link(old, new) {
            Ok(()) => {
                remove(old)?;
                sync_dir(new);
                return Ok(Adoption::Moved {
                    from: old.to_path_buf(),
                    to: new.to_path_buf(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // Another file system (or no hard links): copy.
            Err(_) => {
                if copy_into(old, new)? {
                    remove(old)?;
                    return Ok(Adoption::Moved {
                        from: old.to_path_buf(),
                        to: new.to_path_buf(),
                    });
                }
            }
        }
    }
    merge(old, new)
}

/// True if both name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Copies `old` to `new` through a temporary file beside `new`; false if
/// `new` appeared meanwhile (the copy is then dropped).
pub(super) fn copy_into(old: &Path, new: &Path) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = new.with_extension(format!("adopting-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let conn = Connection::open(old).map_err(|source| Error::Catalog {
        path: old.to_path_buf(),
        source,
    })?;
    let text = tmp.to_str().ok_or_else(|| Error::Invalid {
        what: "catalog path".into(),
        reason: format!("{} is not UTF-8", tmp.display()),
    })?;
    conn.execute("VACUUM INTO ?1", [text])
        .map_err(|source| Error::Catalog {
            path: old.to_path_buf(),
            source,
        })?;
    drop(conn);
    let io = |what: &str, e| Error::io(format!("{what} {}", tmp.display()), e);
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io("restricting", e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing", e))?;
    let linked = std::fs::hard_link(&tmp, new);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(new);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io(format!("creating {}", new.display()), e)),
    }
}

/// Adds the history of `old` missing from `new`, then removes `old`.
fn merge(old: &Path, new: &Path) -> Result<Adoption> {
    let mut cat = Catalog::open(new)?;
    let old_text = old.to_str().ok_or_else(|| Error::Invalid {
        what: "catalog path".into(),
        reason: format!("{} is not UTF-8", old.display()),
    })?;
    let err = |source| Error::Catalog {
        path: new.to_path_buf(),
        source,
    };
    cat.conn
        .execute("ATTACH DATABASE ?1 AS old", [old_text])
        .map_err(err)?;
    let counts = (|| {
        let tx = cat
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let runs = tx.execute(
            "INSERT INTO main.job_runs (job, started, finished, ok, error, snapshot, shipped, stream_bytes, stored_bytes, run_at, damaged)
             SELECT o.job, o.started, o.finished, o.ok, o.error, o.snapshot, o.shipped, o.stream_bytes, o.stored_bytes, o.run_at, o.damaged
             FROM old.job_runs o WHERE NOT EXISTS (SELECT 1 FROM main.job_runs m
                 WHERE m.job = o.job AND m.started = o.started AND m.finished = o.finished
                 AND m.ok = o.ok AND m.snapshot IS o.snapshot)
             ORDER BY o.id",
            [],
        )?;
        let drills = tx.execute(
            "INSERT OR IGNORE INTO main.drills SELECT * FROM old.drills",
            [],
        )?;
        let verifications = tx.execute(
            "INSERT INTO main.verifications (job, started, finished, ok, portion, packs, pack_bytes, packs_read, bytes_read, blobs_read, problems, damaged_snapshots, cursor, completed_pass)
             SELECT o.job, o.started, o.finished, o.ok, o.portion, o.packs, o.pack_bytes, o.packs_read, o.bytes_read, o.blobs_read, o.problems, o.damaged_snapshots, o.cursor, o.completed_pass
             FROM old.verifications o WHERE NOT EXISTS (SELECT 1 FROM main.verifications m
                 WHERE m.job = o.job AND m.started = o.started AND m.finished = o.finished)
             ORDER BY o.id",
            [],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO main.meta (key, value)
             SELECT 'last_prune', CAST(MAX(CAST(value AS INTEGER)) AS TEXT) FROM (
                 SELECT value FROM main.meta WHERE key = 'last_prune'
                 UNION ALL SELECT value FROM old.meta WHERE key = 'last_prune')
             HAVING COUNT(*) > 0",
            [],
        )?;
        tx.commit()?;
        Ok((runs, drills, verifications))
    })()
    .map_err(err);
    cat.conn.execute("DETACH DATABASE old", []).map_err(err)?;
    let (runs, drills, verifications) = counts?;
    drop(cat);
    remove(old)?;
    Ok(Adoption::Merged {
        from: old.to_path_buf(),
        into: new.to_path_buf(),
        runs,
        drills,
        verifications,
    })
}

/// Removes a catalog file and what SQLite keeps beside it; one already
/// gone (another process adopted it) is no error.
fn remove(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::io(
                    format!("removing {}", Path::new(&name).display()),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// Makes a new name in `path`'s directory durable; best effort.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}
