//! A machine-wide lock around creating and first mounting a file system on
//! zfs-fuse: its FUSE side was seen to wedge (every new mount left
//! uninitialised) when two processes created pools, datasets or clones at
//! the same moment. Tests take it around `zpool create` and `zfs create`;
//! a snapshot view takes it around its clone on zfs-fuse. The kernel
//! releases it when the holder exits.

use std::fs::{File, OpenOptions};

use crate::dialect::Dialect;
use crate::error::ZfsError;
use crate::zfs::Zfs;

/// Takes the lock (`<temp dir>/backup-testpool-mount.lock`, an `flock`),
/// waiting for it; held until the returned file is dropped.
pub fn mount_lock() -> Result<File, ZfsError> {
    let path = std::env::temp_dir().join("backup-testpool-mount.lock");
    let local = |what: &str, source| ZfsError::LocalIo {
        what: format!("{what} {}", path.display()),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| local("open", e))?;
    file.lock().map_err(|e| local("lock", e))?;
    Ok(file)
}

impl Zfs {
    /// [`mount_lock`] on zfs-fuse, nothing elsewhere: taken around making
    /// and first mounting a pool, dataset or clone.
    pub fn serialise_mounts(&self) -> Result<Option<File>, ZfsError> {
        match self.dialect()? {
            Dialect::ZfsFuse => mount_lock().map(Some),
            _ => Ok(None),
        }
    }
}
