//! Temporary files left by killed writers: which ones `check` reports and
//! which ones `prune` removes.
//!
//! A write that needs a temporary name (local directory, SFTP) leaves
//! `.tmp-<pid>-<hex>` behind if its process dies before the rename. Nothing
//! refers to it, so it harms no data; it only takes space (a pack's is up to
//! the pack size).
//!
//! Prune runs under the exclusive repository lock, which no writer of packs,
//! index segments or manifests holds at the same time (ships take the shared
//! lock; a prune is the only other writer of those, and there is one at a
//! time). So every temporary file in `data/`, `index/` and `snapshots/` is a
//! dead writer's, whichever host wrote it, and is removed whatever its age.
//! The others are written without that guarantee: key slots (`key add`
//! takes no repository lock), lock objects (written by every command that
//! takes a lock, including one waiting for ours), the config (`init`). Those
//! are removed only once older than [`TEMP_FILE_SAFETY_AGE`]. The pid in the
//! name is not used: it says nothing about which host wrote the file (a
//! repository on a NAS or over SFTP is shared), so it cannot prove a writer
//! dead.

use std::time::{Duration, SystemTime};

use crate::backend::{Backend, FileType, TempFile};
use crate::error::Result;

/// How old a temporary file outside `data/`, `index/` and `snapshots/` must
/// be before prune removes it: far longer than any single object write.
pub const TEMP_FILE_SAFETY_AGE: Duration = Duration::from_secs(60 * 60);

/// Every temporary file in the repository, with its type, except those this
/// very process may be writing (its own pid: the lock refresher's).
pub(crate) fn list_all(backend: &dyn Backend) -> Result<Vec<(FileType, TempFile)>> {
    let own = std::process::id();
    let mut out = Vec::new();
    for ty in FileType::ALL {
        for t in backend.list_temporary(ty)? {
            if t.pid() != Some(own) {
                out.push((ty, t));
            }
        }
    }
    Ok(out)
}

/// Whether prune, holding the exclusive lock, removes this temporary file
/// at `now` (see the module documentation).
pub(crate) fn removable(ty: FileType, t: &TempFile, now: SystemTime) -> bool {
    match ty {
        FileType::Pack | FileType::Index | FileType::Snapshot => true,
        FileType::Config | FileType::Key | FileType::Lock => t
            .modified
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= TEMP_FILE_SAFETY_AGE),
    }
}

/// The repository-relative path of a temporary file, for reports.
pub(crate) fn path(ty: FileType, t: &TempFile) -> String {
    match ty.dir() {
        "" => t.name.clone(),
        dir => format!("{dir}/{}", t.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;

    fn temp(name: &str, modified: Option<SystemTime>) -> TempFile {
        TempFile {
            name: name.into(),
            size: 1,
            modified,
        }
    }

    #[test]
    fn under_the_exclusive_lock_data_goes_at_once_the_rest_by_age() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let young = Some(now - Duration::from_secs(60));
        let old = Some(now - TEMP_FILE_SAFETY_AGE);
        let future = Some(now + Duration::from_secs(60));
        for ty in [FileType::Pack, FileType::Index, FileType::Snapshot] {
            for m in [young, old, future, None] {
                assert!(removable(ty, &temp(".tmp-1-a", m), now), "{ty:?} {m:?}");
            }
        }
        for ty in [FileType::Config, FileType::Key, FileType::Lock] {
            assert!(!removable(ty, &temp(".tmp-1-a", young), now), "{ty:?}");
            assert!(!removable(ty, &temp(".tmp-1-a", future), now), "{ty:?}");
            assert!(!removable(ty, &temp(".tmp-1-a", None), now), "{ty:?}");
            assert!(removable(ty, &temp(".tmp-1-a", old), now), "{ty:?}");
        }
    }

    #[test]
    fn own_files_are_not_listed() {
        let b = MemoryBackend::new();
        let now = SystemTime::now();
        b.plant_temporary(FileType::Pack, "ab/.tmp-99999-x", 3, now);
        let own = format!(".tmp-{}-y", std::process::id());
        b.plant_temporary(FileType::Lock, &own, 3, now);
        let all = list_all(&b).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(path(all[0].0, &all[0].1), "data/ab/.tmp-99999-x");
    }
}
