//! The drill's scratch space: a dataset under a configured parent, or a
//! throwaway pool on a sparse file, marked with the user property
//! `backup:drill` so that a later drill recognises (and removes) what an
//! interrupted one left. The caller holds the drills' lock, so every marked
//! scratch space found in its place belongs to a drill that is over.

use std::fs::File;
use std::path::{Path, PathBuf};

use backup_zfs::{DatasetName, Zfs};

use crate::config::Scratch;
use crate::error::{Error, Result};

/// User property naming the drill that made a scratch space.
pub const MARK: &str = "backup:drill";
/// User property on a scratch pool's root: the directory holding its file.
pub const MARK_DIR: &str = "backup:drill-dir";
/// Scratch datasets and pools are named `backupdrill<8 hex>`.
pub const PREFIX: &str = "backupdrill";

/// Scratch space made for one drill.
#[derive(Debug)]
pub struct ScratchSpace {
    /// The dataset everything is restored below.
    pub root: DatasetName,
    /// Where `root` is mounted.
    pub mountpoint: PathBuf,
    /// The pool's name and file, for a throwaway pool.
    pub pool: Option<(String, PathBuf)>,
}

impl ScratchSpace {
    /// Makes scratch space for drill `id`. `size` sizes a throwaway pool's
    /// sparse file. `work_dir` holds mountpoints (and the pool's file).
    pub fn create(
        zfs: &Zfs,
        scratch: &Scratch,
        work_dir: &Path,
        id: &str,
        size: u64,
    ) -> Result<ScratchSpace> {
        std::fs::create_dir_all(work_dir)
            .map_err(|e| Error::io(format!("creating {}", work_dir.display()), e))?;
        let name = format!("{PREFIX}{}", &backup_core::Id::random().to_hex()[..8]);
        let mountpoint = work_dir.join(&name);
        match scratch {
            Scratch::Under(parent) => {
                if !zfs.dataset_exists(parent)? {
                    return Err(Error::Invalid {
                        what: format!("drill scratch_parent {parent}"),
                        reason: "the dataset does not exist".into(),
                    });
                }
                let root = parent.child(&name).map_err(backup_zfs::ZfsError::from)?;
                let mnt = mountpoint.to_string_lossy().into_owned();
                zfs.create_dataset(&root, &[(MARK, id), ("mountpoint", &mnt)])?;
                Ok(ScratchSpace {
                    root,
                    mountpoint,
                    pool: None,
                })
            }
            Scratch::PoolIn(_) => {
                let file = work_dir.join(format!("{name}.img"));
                File::create(&file)
                    .and_then(|f| f.set_len(size))
                    .map_err(|e| Error::io(format!("creating {}", file.display()), e))?;
                let dir = work_dir.to_string_lossy().into_owned();
                let made = zfs.create_file_pool(
                    &name,
                    &file,
                    &mountpoint,
                    &[(MARK, id), (MARK_DIR, &dir)],
                );
                match made {
                    Ok(root) => Ok(ScratchSpace {
                        root,
                        mountpoint,
                        pool: Some((name, file)),
                    }),
                    Err(e) => {
                        let _ = std::fs::remove_file(&file);
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// "dataset" or "pool".
    pub fn kind(&self) -> &'static str {
        if self.pool.is_some() {
            "pool"
        } else {
            "dataset"
        }
    }

    /// Destroys the scratch space, its file and its mountpoint directory.
    pub fn destroy(self, zfs: &Zfs) -> Result<()> {
        match &self.pool {
            Some((name, file)) => {
                zfs.destroy_pool(name)?;
                std::fs::remove_file(file)
                    .map_err(|e| Error::io(format!("removing {}", file.display()), e))?;
            }
            None => zfs.destroy_dataset(&self.root, true)?,
        }
        remove_empty_dirs(&self.mountpoint);
        Ok(())
    }
}

/// Removes what earlier drills left in this scratch place: datasets under
/// the parent, or pools whose file is in `work_dir`, that carry the mark;
/// then pool files and mountpoint directories of ours left in `work_dir`.
/// Returns what was removed.
// `.img` and `.out` are names this module writes itself, in lower case.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
pub fn remove_leftovers(zfs: &Zfs, scratch: &Scratch, work_dir: &Path) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    match scratch {
        Scratch::Under(parent) => {
            if zfs.dataset_exists(parent)? {
                for (ds, mark) in zfs.list_with_property(parent, MARK, true)? {
                    let ours = ds.parent().as_ref() == Some(parent)
                        && ds
                            .as_str()
                            .rsplit('/')
                            .next()
                            .is_some_and(|n| n.starts_with(PREFIX));
                    if ours && mark.is_some() {
                        zfs.destroy_dataset(&ds, true)?;
                        removed.push(format!("dataset {ds} (drill {})", mark.unwrap_or_default()));
                    }
                }
            }
        }
        Scratch::PoolIn(_) => {
            let dir = work_dir.to_string_lossy();
            for pool in zfs
                .list_pools()?
                .into_iter()
                .filter(|p| p.starts_with(PREFIX))
            {
                let Ok(root) = DatasetName::parse(&pool) else {
                    continue;
                };
                // Another place's drill may destroy its pool between the
                // listing and this look at it: that pool is not ours.
                let here = match zfs.list_with_property(&root, MARK_DIR, false) {
                    Err(backup_zfs::ZfsError::DatasetNotFound { .. }) => continue,
                    other => other?,
                };
                if here.first().and_then(|(_, v)| v.as_deref()) == Some(&*dir) {
                    let mark = zfs.get_property(&pool, MARK)?.unwrap_or_default();
                    zfs.destroy_pool(&pool)?;
                    removed.push(format!("pool {pool} (drill {mark})"));
                }
            }
        }
    }
    // Files and directories named like ours; a pool still imported keeps
    // its file (it was not ours to destroy: another place's marks).
    let imported = zfs.list_pools()?;
    if let Ok(entries) = std::fs::read_dir(work_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(PREFIX) {
                continue;
            }
            let path = entry.path();
            match name.strip_suffix(".img") {
                Some(pool) if !imported.iter().any(|p| p == pool) => {
                    std::fs::remove_file(&path)
                        .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
                    removed.push(format!("file {}", path.display()));
                }
                Some(_) => {}
                None if name.ends_with(".out") && path.is_file() => {
                    // A probe's output file.
                    std::fs::remove_file(&path)
                        .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
                    removed.push(format!("file {}", path.display()));
                }
                None if path.is_dir() && remove_empty_dirs(&path) => {
                    removed.push(format!("directory {}", path.display()));
                }
                None => {}
            }
        }
    }
    Ok(removed)
}

/// Removes `dir` and the empty directories below it, never a file and
/// never a directory in use as a mountpoint (it is not empty, or rmdir
/// fails with EBUSY). Whether `dir` is gone.
fn remove_empty_dirs(dir: &Path) -> bool {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&entry.path());
            }
        }
    }
    std::fs::remove_dir(dir).is_ok()
}
