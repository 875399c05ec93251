//! A repository in a local directory (or a mounted NAS share).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Backend, FileType};
use crate::error::{Error, Result};

/// A directory on a local (or mounted) file system.
///
/// Writes go to a temporary name in the target directory, are fsynced, renamed
/// over the final name, and the directory is fsynced, so an object is either
/// absent or complete after a crash.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
    transfers: usize,
}

fn err(op: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Backend {
        op,
        path: path.display().to_string(),
        source,
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| err("fsync directory", dir, e))
}

impl LocalBackend {
    /// A backend rooted at `root` (which need not exist until `create`).
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend {
            root: root.into(),
            transfers: 1,
        }
    }

    /// The same, transferring `n` objects at once (a NAS share mounted over
    /// a slow link gains from more than one).
    pub fn with_transfers(self, n: usize) -> LocalBackend {
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

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn transfers(&self) -> usize {
        self.transfers
    }

    fn create(&self) -> Result<()> {
        let config = self.full(FileType::Config, "config");
        if config.exists() {
            return Err(Error::AlreadyExists {
                location: self.location(),
            });
        }
        for ty in FileType::ALL {
            let d = self.root.join(ty.dir());
            fs::create_dir_all(&d).map_err(|e| err("create directory", &d, e))?;
        }
        if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsync_dir(parent)?;
        }
        fsync_dir(&self.root)
    }

    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        let path = self.full(ty, name);
        let dir = path
            .parent()
            .expect("object paths have a parent")
            .to_path_buf();
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|e| err("create directory", &dir, e))?;
            fsync_dir(dir.parent().unwrap_or(&self.root))?;
        }
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            crate::id::Id::random().short()
        ));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| err("create", &tmp, e))?;
            f.write_all(data).map_err(|e| err("write", &tmp, e))?;
            f.sync_all().map_err(|e| err("fsync", &tmp, e))?;
            drop(f);
            fs::rename(&tmp, &path).map_err(|e| err("rename into place", &path, e))?;
            fsync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        let path = self.full(ty, name);
        fs::read(&path).map_err(|e| self.missing_or(ty, name, &path, "read", e))
    }

    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.full(ty, name);
        let mut f = File::open(&path).map_err(|e| self.missing_or(ty, name, &path, "open", e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| err("seek", &path, e))?;
        let mut buf = vec![0u8; usize::try_from(len).expect("range fits in memory")];
        f.read_exact(&mut buf)
            .map_err(|e| err("read range", &path, e))?;
        Ok(buf)
    }

    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        let dir = self.root.join(ty.dir());
        let mut out = Vec::new();
        if ty == FileType::Config {
            let p = self.full(ty, "config");
            if let Ok(m) = fs::metadata(&p) {
                out.push(("config".to_string(), m.len()));
            }
            return Ok(out);
        }
        let mut dirs = vec![dir.clone()];
        if ty == FileType::Pack {
            dirs.clear();
            let rd = fs::read_dir(&dir).map_err(|e| err("list", &dir, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| err("list", &dir, e))?;
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    dirs.push(entry.path());
                }
            }
        }
        for d in dirs {
            let rd = fs::read_dir(&d).map_err(|e| err("list", &d, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| err("list", &d, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let meta = entry
                    .metadata()
                    .map_err(|e| err("stat", &entry.path(), e))?;
                if meta.is_file() {
                    out.push((name, meta.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        let path = self.full(ty, name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(err("remove", &path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_list_remove() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("repo"));
        b.create().unwrap();
        b.write(FileType::Pack, "abcdef", b"pack").unwrap();
        b.write(FileType::Index, "i1", b"idx").unwrap();
        assert_eq!(b.read(FileType::Pack, "abcdef").unwrap(), b"pack");
        assert_eq!(b.read_range(FileType::Pack, "abcdef", 1, 2).unwrap(), b"ac");
        assert!(b.read_range(FileType::Pack, "abcdef", 3, 2).is_err());
        assert_eq!(b.list(FileType::Pack).unwrap(), vec![("abcdef".into(), 4)]);
        assert!(dir.path().join("repo/data/ab/abcdef").is_file());
        assert!(matches!(
            b.read(FileType::Index, "nope"),
            Err(Error::Missing { .. })
        ));
        b.remove(FileType::Pack, "abcdef").unwrap();
        b.remove(FileType::Pack, "abcdef").unwrap();
        assert!(b.list(FileType::Pack).unwrap().is_empty());
        b.write(FileType::Config, "config", b"c").unwrap();
        assert!(matches!(b.create(), Err(Error::AlreadyExists { .. })));
    }
}
