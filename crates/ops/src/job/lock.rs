//! The per-job lock: an advisory lock on `<state dir>/locks/job-<name>.lock`.
//! The kernel releases it when its holder exits, however it exits, so a lock
//! left by a dead process is simply free again: nothing to detect or clean.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held while a job runs; dropping it releases the lock.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
    path: PathBuf,
}

impl JobLock {
    /// Takes the lock of `job` in `dir`, or fails at once with
    /// [`Error::Locked`] naming the holder's pid if another run holds it.
    pub fn acquire(dir: &Path, job: &str) -> Result<JobLock> {
        JobLock::acquire_file(dir, &format!("job-{job}.lock"), &format!("job {job}"))
    }

    /// Takes the lock file `name` in `dir`, held for `what` (e.g. the
    /// drills' scratch space), or fails at once with [`Error::Locked`].
    pub fn acquire_file(dir: &Path, name: &str, what: &str) -> Result<JobLock> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let path = dir.join(name);
        let ctx = |e| Error::io(format!("lock file {}", path.display()), e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(ctx)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::Locked {
                    what: what.to_string(),
                    holder: format!("pid {}", holder.trim()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(ctx(e)),
        }
        file.set_len(0).map_err(ctx)?;
        file.rewind().map_err(ctx)?;
        write!(file, "{}", std::process::id()).map_err(ctx)?;
        Ok(JobLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = JobLock::acquire(dir.path(), "home").unwrap();
        let e = JobLock::acquire(dir.path(), "home").unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        assert!(JobLock::acquire(dir.path(), "other").is_ok());
        drop(a);
        assert!(JobLock::acquire(dir.path(), "home").is_ok());
    }
}
