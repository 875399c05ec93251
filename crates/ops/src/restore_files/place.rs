//! The stage directory inside DIR where a restore builds its paths, and
//! the move of what it built into DIR. Renames within one file system: a
//! restore that fails before the move leaves DIR as it was.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use backup_core::filelist::{Entry, Kind};

use super::select::Selection;
use super::{below, meta, Restored};
use crate::error::{Error, Result};

/// Stage directories are named `.backup-restore-<pid>-<hex>`.
const PREFIX: &str = ".backup-restore-";

/// A stage directory, removed on drop unless moved out of.
#[derive(Debug)]
pub struct Stage {
    root: PathBuf,
}

impl Stage {
    /// Makes a stage directory in `into`, mode 0700.
    pub fn create(into: &Path) -> Result<Stage> {
        use std::os::unix::fs::DirBuilderExt;
        let hex = backup_core::Id::random().to_hex();
        let root = into.join(format!("{PREFIX}{}-{}", std::process::id(), &hex[..8]));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&root)
            .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        Ok(Stage { root })
    }

    /// Where `e` is built.
    pub fn path_of(&self, e: &Entry) -> PathBuf {
        below(&self.root, e)
    }

    /// Makes directory `e` (the root entry is the stage itself).
    pub fn make_dir(&self, e: &Entry) -> Result<()> {
        let p = self.path_of(e);
        if e.path.is_empty() {
            return Ok(());
        }
        std::fs::create_dir(&p).map_err(|err| Error::io(format!("creating {}", p.display()), err))
    }

    /// Creates the empty file that `e`'s contents go into.
    pub fn new_file(&self, e: &Entry) -> Result<(PathBuf, File)> {
        let p = self.path_of(e);
        let f = File::options()
            .write(true)
            .create_new(true)
            .open(&p)
            .map_err(|err| Error::io(format!("creating {}", p.display()), err))?;
        Ok((p, f))
    }

    /// Makes `e` a hard link to the already restored `first`.
    pub fn hard_link(&self, first: &Entry, e: &Entry) -> Result<()> {
        let (from, to) = (self.path_of(first), self.path_of(e));
        std::fs::hard_link(&from, &to).map_err(|err| {
            Error::io(
                format!("linking {} to {}", to.display(), from.display()),
                err,
            )
        })
    }

    /// Makes a symlink, FIFO or device node from the manifest. Returns why
    /// not, for what cannot be made (sockets; devices without root).
    pub fn make_special(&self, e: &Entry) -> Result<Option<String>> {
        let p = self.path_of(e);
        let io = |err| Error::io(format!("creating {}", p.display()), err);
        let mode = e.mode & 0o7777;
        let node = match e.kind {
            Kind::Symlink => {
                let target = e.target.clone().unwrap_or_default();
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &p).map_err(io)?;
                return Ok(None);
            }
            Kind::Socket => {
                return Ok(Some(
                    "a socket is made by the program that listens on it".into(),
                ))
            }
            Kind::Fifo => libc::S_IFIFO | mode,
            Kind::Char | Kind::Block if !meta::can_chown() => {
                return Ok(Some("device nodes are made only by root".into()))
            }
            Kind::Char => libc::S_IFCHR | mode,
            Kind::Block => libc::S_IFBLK | mode,
            Kind::File | Kind::Dir => return Ok(None),
        };
        let c = CString::new(p.as_os_str().as_bytes())
            .map_err(|err| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, err)))?;
        // SAFETY: `c` is a valid NUL-terminated path.
        #[allow(unsafe_code)]
        let r = unsafe { libc::mknod(c.as_ptr(), node, e.rdev.unwrap_or(0) as libc::dev_t) };
        if r != 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        Ok(None)
    }

    /// Removes the stage and what is left in it.
    pub fn remove(self) {}
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Removes stage directories in `into` left by restores that are no longer
/// running (their pid is gone).
pub fn remove_stale_stages(into: &Path) {
    let Ok(dir) = std::fs::read_dir(into) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Moves each requested path from the stage into `into`: a path missing
/// there is renamed in whole, a directory that exists is merged into (its
/// recorded metadata applied after), an existing non-directory replaced
/// (checked allowed before anything was made). Missing ancestors are made
/// with their recorded metadata.
pub fn move_into(
    stage: &Stage,
    sel: &Selection<'_>,
    into: &Path,
    out: &mut Restored,
) -> Result<()> {
    let mut made = Vec::new();
    for a in &sel.ancestors {
        let at = below(into, a);
        if !at.exists() {
            std::fs::create_dir(&at)
                .map_err(|e| Error::io(format!("creating {}", at.display()), e))?;
            made.push(*a);
        }
    }
    for t in &sel.tops {
        merge(&stage.path_of(t), &below(into, t), t, out.owners)?;
    }
    for a in made.iter().rev() {
        meta::apply(&below(into, a), a, out.owners)?;
    }
    Ok(())
}

fn merge(from: &Path, to: &Path, e: &Entry, owners: bool) -> Result<()> {
    let is_dir = std::fs::symlink_metadata(to).is_ok_and(|m| m.is_dir());
    if e.kind == Kind::Dir && (is_dir || e.path.is_empty()) {
        let entries = std::fs::read_dir(from)
            .map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
        for child in entries {
            let child =
                child.map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
            let name = child.file_name();
            rename_or_merge(&child.path(), &to.join(&name))?;
        }
        return meta::apply(to, e, owners);
    }
    std::fs::rename(from, to).map_err(|err| {
        Error::io(
            format!("moving {} to {}", from.display(), to.display()),
            err,
        )
    })
}

/// Below a merged directory, entries have no manifest entry at hand: a
/// directory that exists on both sides is merged, anything else renamed;
/// a merged directory gets the stage copy's mode and times.
fn rename_or_merge(from: &Path, to: &Path) -> Result<()> {
    let both_dirs = std::fs::symlink_metadata(from).is_ok_and(|m| m.is_dir())
        && std::fs::symlink_metadata(to).is_ok_and(|m| m.is_dir());
    if !both_dirs {
        return std::fs::rename(from, to).map_err(|err| {
            Error::io(
                format!("moving {} to {}", from.display(), to.display()),
                err,
            )
        });
    }
    let md = std::fs::symlink_metadata(from)
        .map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
    let entries = std::fs::read_dir(from)
        .map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
    for child in entries {
        let child = child.map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
        rename_or_merge(&child.path(), &to.join(child.file_name()))?;
    }
    copy_dir_meta(&md, to)
}

fn copy_dir_meta(md: &std::fs::Metadata, to: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let e = Entry {
        path: Vec::new(),
        kind: Kind::Dir,
        size: 0,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        mtime: md.mtime(),
        mtime_nsec: md.mtime_nsec() as u32,
        ctime: 0,
        ctime_nsec: 0,
        ino: 0,
        target: None,
        rdev: None,
        blake3: None,
    };
    meta::apply(to, &e, meta::can_chown())
}
