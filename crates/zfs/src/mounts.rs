//! Serialised mounts on zfs-fuse.
//!
//! zfs-fuse's FUSE side was seen to wedge when two file systems were made or
//! mounted at the same moment (two `zfs create` of parallel tests): the new
//! mount's FUSE connection is never initialised, so the first lookup on it
//! blocks in the kernel (`fuse_get_req`) for good, and so does every later
//! command that touches it. So on zfs-fuse every call of this crate that
//! creates or mounts a file system (pool create, `zfs create` and each
//! missing parent, clone, the mount after a receive, `zfs mount`) holds a
//! machine-wide lock from before the command until the new mount answers a
//! directory listing, bounded by [`Zfs::timeout`]. Callers need no lock of
//! their own. On OpenZFS it is a no-op.
//!
//! The lock is an `flock` on [`LOCK_FILE`] (or, without `/run/lock`, the
//! same name in the temporary directory), so the kernel releases it when its
//! holder exits, however it exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::error::ZfsError;
use crate::name::DatasetName;
use crate::zfs::Zfs;

/// The machine-wide lock of zfs-fuse mounts.
pub const LOCK_FILE: &str = "/run/lock/backup-zfs-fuse-mounts.lock";

/// Held while one file system is made or mounted; released on drop.
#[derive(Debug)]
pub(crate) struct MountGuard {
    _file: File,
}

fn lock_path() -> PathBuf {
    let path = Path::new(LOCK_FILE);
    match path.parent() {
        Some(dir) if dir.is_dir() => path.to_owned(),
        _ => std::env::temp_dir().join(path.file_name().expect("a file name")),
    }
}

/// Takes the lock, waiting up to `patience` for another holder to let go.
fn lock(patience: Duration) -> Result<MountGuard, ZfsError> {
    let path = lock_path();
    let local = |what: &str, source| ZfsError::LocalIo {
        what: format!("{what} the zfs-fuse mount lock {}", path.display()),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| local("open", e))?;
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(MountGuard { _file: file }),
            Err(TryLockError::Error(e)) => return Err(local("lock", e)),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => {
                let e = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "another process held it for over {} s",
                        patience.as_secs_f64()
                    ),
                );
                return Err(local("wait for", e));
            }
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

impl Zfs {
    /// The mount lock on zfs-fuse (module docs), `None` elsewhere. A holder
    /// keeps it for at most one command and one mount check, each bounded
    /// by [`Zfs::timeout`], so waiting longer than three of those means the
    /// holder is stuck.
    pub(crate) fn mounting(&self) -> Result<Option<MountGuard>, ZfsError> {
        match self.dialect()? {
            Dialect::ZfsFuse => lock(self.timeout() * 3).map(Some),
            _ => Ok(None),
        }
    }

    /// Waits until the file system `ds`, if it is mounted, answers a
    /// directory listing, for at most [`Zfs::timeout`]; its mountpoint, or
    /// `None` if it is not mounted.
    pub(crate) fn await_mount(&self, ds: &DatasetName) -> Result<Option<PathBuf>, ZfsError> {
        let Some(path) = self.mountpoint(ds)? else {
            return Ok(None);
        };
        self.await_answer(ds, &path)?;
        Ok(Some(path))
    }

    /// Waits until `path`, the new mount of `ds`, answers a directory
    /// listing, for at most [`Zfs::timeout`]. The listing runs on a thread
    /// of its own: one blocked on a wedged connection is left behind (the
    /// kernel ends it when the connection is aborted or the process exits).
    pub(crate) fn await_answer(&self, ds: &DatasetName, path: &Path) -> Result<(), ZfsError> {
        let limit = self.timeout();
        match list_within(path, limit) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(ZfsError::LocalIo {
                what: format!("read the new mount of {ds} at {}", path.display()),
                source: e,
            }),
            None => Err(self.after_timeout(ZfsError::MountNotAnswering {
                dataset: ds.to_string(),
                path: path.to_owned(),
                limit,
            })),
        }
    }

    /// `zfs mount DS`, serialised on zfs-fuse; returns once the mount
    /// answers. A file system that is already mounted is only checked.
    pub fn mount(&self, ds: &DatasetName) -> Result<PathBuf, ZfsError> {
        let _serial = self.mounting()?;
        if let Some(path) = self.await_mount(ds)? {
            return Ok(path);
        }
        self.run_zfs(["mount", ds.as_str()], ds.as_str())?;
        self.await_mount(ds)?
            .ok_or_else(|| ZfsError::InvalidArgument {
                argument: ds.to_string(),
                reason: "zfs mount succeeded but the file system is not mounted".into(),
            })
    }

    /// After a receive into `ds` without `-u` was asked for (zfs-fuse only,
    /// which receives with `-u`): mounts it, serialised, unless it cannot be
    /// (`canmount` off or `noauto`, `mountpoint` none or legacy) or already is.
    pub(crate) fn mount_received(&self, ds: &DatasetName) -> Result<(), ZfsError> {
        let args = [
            "get",
            "-Hp",
            "-o",
            "property,value",
            "canmount,mountpoint",
            ds.as_str(),
        ];
        let out = self.run_zfs(args, ds.as_str())?;
        if is_mountable(&out) {
            self.mount(ds)?;
        }
        Ok(())
    }
}

/// Lists `dir` on a thread of its own and waits up to `wait` for it: the
/// listing's result, or `None` if it did not return (a listing blocked on a
/// wedged FUSE connection is left behind; the kernel ends it when the
/// connection is aborted or the process exits).
pub(crate) fn list_within(dir: &Path, wait: Duration) -> Option<std::io::Result<()>> {
    let (tx, rx) = mpsc::channel();
    let dir = dir.to_owned();
    let spawned = std::thread::Builder::new()
        .name("zfs-mount-check".into())
        .spawn(move || {
            let _ = tx.send(std::fs::read_dir(&dir).map(drop));
        });
    match spawned {
        Ok(_) => rx.recv_timeout(wait).ok(),
        Err(e) => Some(Err(e)),
    }
}

/// True if `zfs get -Hp -o property,value canmount,mountpoint` output says
/// `zfs mount` would mount the file system.
fn is_mountable(out: &str) -> bool {
    let value = |prop: &str| {
        out.lines()
            .filter_map(|l| l.split_once('\t'))
            .find(|(p, _)| *p == prop)
            .map(|(_, v)| v.trim())
    };
    value("canmount") == Some("on") && value("mountpoint").is_some_and(|m| m.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_automatic_path_mountpoint_is_mounted() {
        // $ zfs get -Hp -o property,value canmount,mountpoint 'p/a b'   (zfs-fuse 0.7)
        assert!(is_mountable("canmount\ton\nmountpoint\t/tmp/p/a b\n"));
        assert!(is_mountable("mountpoint\t/m\ncanmount\ton\n"));
        assert!(!is_mountable("canmount\tnoauto\nmountpoint\t/m\n"));
        assert!(!is_mountable("canmount\toff\nmountpoint\t/m\n"));
        assert!(!is_mountable("canmount\ton\nmountpoint\tnone\n"));
        assert!(!is_mountable("canmount\ton\nmountpoint\tlegacy\n"));
        assert!(!is_mountable(""));
    }

    #[test]
    fn the_lock_excludes_a_second_holder_until_released() {
        let first = lock(Duration::from_secs(60)).unwrap();
        let err = lock(Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("mount lock"), "{err}");
        drop(first);
        lock(Duration::from_secs(60)).unwrap();
    }
}
