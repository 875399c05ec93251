//! A repository in a local directory (or a mounted NAS share).

mod fs;
#[cfg(any(test, feature = "test-support"))]
mod power_cut;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub use fs::{LocalFs, StdFs};
#[cfg(any(test, feature = "test-support"))]
pub use power_cut::PowerCutFs;

use super::{check_temp_name, Backend, FileType, TempFile, TEMP_PREFIX};
use crate::error::{Error, Result};

/// A directory on a local (or mounted) file system.
///
/// Writes go to a temporary name in the target directory, are fsynced, renamed
/// over the final name, and the directory is fsynced, so an object is either
/// absent or complete after a crash.
///
/// Directories it creates are 0700 and files 0600, whatever the umask; `create`
/// also makes the repository directory itself 0700 (best effort: a mount
/// point the user may write to but not chmod keeps its mode).
///
/// Every file-system call goes through `F` (`StdFs`, the real one, unless
/// a test gives a simulated disk: `PowerCutFs`, feature `test-support`).
#[derive(Debug, Clone)]
pub struct LocalBackend<F: LocalFs = StdFs> {
    root: PathBuf,
    transfers: usize,
    fs: F,
}

fn err(op: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Backend {
        op,
        path: path.display().to_string(),
        source,
    }
}

impl LocalBackend {
    /// A backend rooted at `root` (which need not exist until `create`).
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend::with_fs(root, StdFs)
    }
}

impl<F: LocalFs> LocalBackend<F> {
    /// A backend rooted at `root` on the file system `fs`.
    pub fn with_fs(root: impl Into<PathBuf>, fs: F) -> LocalBackend<F> {
        LocalBackend {
            root: root.into(),
            transfers: 1,
            fs,
        }
    }

    /// The same, transferring `n` objects at once (a NAS share mounted over
    /// a slow link gains from more than one).
    pub fn with_transfers(self, n: usize) -> LocalBackend<F> {
        LocalBackend {
            transfers: n.max(1),
            ..self
        }
    }

    fn full(&self, ty: FileType, name: &str) -> PathBuf {
        self.root.join(ty.path(name))
    }

    fn missing_or(
        &self,
        ty: FileType,
        name: &str,
        path: &Path,
        op: &'static str,
        e: std::io::Error,
    ) -> Error {
        if e.kind() == ErrorKind::NotFound {
            Error::Missing {
                kind: kind_name(ty),
                name: name.to_string(),
            }
        } else {
            err(op, path, e)
        }
    }

    fn fsync_dir(&self, dir: &Path) -> Result<()> {
        self.fs
            .sync_dir(dir)
            .map_err(|e| err("fsync directory", dir, e))
    }

    /// `mkdir -p` with mode 0700 for what it creates; `dir` itself is then
    /// set to 0700 (the umask may have taken bits away).
    fn create_private_dir(&self, dir: &Path) -> Result<()> {
        self.fs
            .create_dir_all(dir)
            .and_then(|()| self.fs.set_private(dir))
            .map_err(|e| err("create directory", dir, e))
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.fs.metadata(path).is_ok_and(|m| m.is_dir)
    }

    /// Removes a file; `false` if it was not there.
    fn remove_file(&self, path: &Path) -> Result<bool> {
        match self.fs.remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(err("remove", path, e)),
        }
    }

    /// The directories holding objects of a type, each with the prefix its
    /// entries' names get (`<xx>/` for packs' fan-out directories).
    fn dirs(&self, ty: FileType) -> Result<Vec<(String, PathBuf)>> {
        let dir = self.root.join(ty.dir());
        if ty != FileType::Pack {
            return Ok(vec![(String::new(), dir)]);
        }
        let mut dirs = Vec::new();
        for (sub, meta) in self.fs.read_dir(&dir).map_err(|e| err("list", &dir, e))? {
            if meta.is_ok_and(|m| m.is_dir) {
                dirs.push((format!("{sub}/"), dir.join(&sub)));
            }
        }
        Ok(dirs)
    }
}

pub(crate) fn kind_name(ty: FileType) -> &'static str {
    match ty {
        FileType::Config => "config",
        FileType::Key => "key",
        FileType::Pack => "pack",
        FileType::Index => "index segment",
        FileType::Snapshot => "snapshot manifest",
        FileType::Lock => "lock",
    }
}

impl<F: LocalFs> Backend for LocalBackend<F> {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn transfers(&self) -> usize {
        self.transfers
    }

    fn create(&self) -> Result<()> {
        let config = self.full(FileType::Config, "config");
        if self.fs.metadata(&config).is_ok() {
            return Err(Error::AlreadyExists {
                location: self.location(),
            });
        }
        self.fs
            .create_dir_all(&self.root)
            .map_err(|e| err("create directory", &self.root, e))?;
        match self.fs.set_private(&self.root) {
            Err(e) if e.kind() != ErrorKind::PermissionDenied => {
                return Err(err("chmod 0700", &self.root, e));
            }
            _ => {}
        }
        for ty in FileType::ALL {
            if !ty.dir().is_empty() {
                self.create_private_dir(&self.root.join(ty.dir()))?;
            }
        }
        if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.fsync_dir(parent)?;
        }
        self.fsync_dir(&self.root)
    }

    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        let path = self.full(ty, name);
        let dir = path
            .parent()
            .expect("object paths have a parent")
            .to_path_buf();
        if !self.is_dir(&dir) {
            self.create_private_dir(&dir)?;
            self.fsync_dir(dir.parent().unwrap_or(&self.root))?;
        }
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            crate::id::Id::random().short()
        ));
        let result = (|| {
            let mut f = self
                .fs
                .create_new(&tmp)
                .map_err(|e| err("create", &tmp, e))?;
            std::io::Write::write_all(&mut f, data).map_err(|e| err("write", &tmp, e))?;
            self.fs
                .sync_file(&mut f)
                .map_err(|e| err("fsync", &tmp, e))?;
            drop(f);
            self.fs
                .rename(&tmp, &path)
                .map_err(|e| err("rename into place", &path, e))?;
            self.fsync_dir(&dir)
        })();
        if result.is_err() {
            let _ = self.fs.remove_file(&tmp);
        }
        result
    }

    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        let path = self.full(ty, name);
        self.fs
            .read(&path)
            .map_err(|e| self.missing_or(ty, name, &path, "read", e))
    }

    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.full(ty, name);
        self.fs
            .read_at(&path, offset, len)
            .map_err(|e| self.missing_or(ty, name, &path, "read range", e))
    }

    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        if ty == FileType::Config {
            let p = self.full(ty, "config");
            if let Ok(m) = self.fs.metadata(&p) {
                out.push(("config".to_string(), m.len));
            }
            return Ok(out);
        }
        for (_, d) in self.dirs(ty)? {
            for (name, meta) in self.fs.read_dir(&d).map_err(|e| err("list", &d, e))? {
                if name.starts_with('.') {
                    continue;
                }
                let meta = meta.map_err(|e| err("stat", &d.join(&name), e))?;
                if meta.is_file {
                    out.push((name, meta.len));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        let path = self.full(ty, name);
        if self.remove_file(&path)? {
            // Durable before the next step: prune removes an old index
            // segment before the packs it names, and a file system may
            // persist unlinks in different directories out of order.
            self.fsync_dir(path.parent().expect("object paths have a parent"))?;
        }
        Ok(())
    }

    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        let mut out = Vec::new();
        for (prefix, d) in self.dirs(ty)? {
            let entries = match self.fs.read_dir(&d) {
                Ok(entries) => entries,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(err("list", &d, e)),
            };
            for (name, meta) in entries {
                if !name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let meta = match meta {
                    Ok(m) => m,
                    // Renamed or removed since the listing: not left behind.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(err("stat", &d.join(&name), e)),
                };
                if meta.is_file {
                    out.push(TempFile {
                        name: format!("{prefix}{name}"),
                        size: meta.len,
                        modified: meta.modified,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        check_temp_name(ty, name)?;
        self.remove_file(&self.root.join(ty.dir()).join(name))
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
