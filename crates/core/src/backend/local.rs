//! A repository in a local directory (or a mounted NAS share).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{check_temp_name, Backend, FileType, TempFile, DIR_MODE, FILE_MODE, TEMP_PREFIX};
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

/// `mkdir -p` with mode 0700 for what it creates; `dir` itself is then
/// set to 0700 (the umask may have taken bits away).
fn create_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)))
        .map_err(|e| err("create directory", dir, e))
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
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(&self.root)
            .map_err(|e| err("create directory", &self.root, e))?;
        match fs::set_permissions(&self.root, fs::Permissions::from_mode(DIR_MODE)) {
            Err(e) if e.kind() != ErrorKind::PermissionDenied => {
                return Err(err("chmod 0700", &self.root, e));
            }
            _ => {}
        }
        for ty in FileType::ALL {
            if !ty.dir().is_empty() {
                create_private_dir(&self.root.join(ty.dir()))?;
            }
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
            create_private_dir(&dir)?;
            fsync_dir(dir.parent().unwrap_or(&self.root))?;
        }
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            crate::id::Id::random().short()
        ));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
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
        let mut out = Vec::new();
        if ty == FileType::Config {
            let p = self.full(ty, "config");
            if let Ok(m) = fs::metadata(&p) {
                out.push(("config".to_string(), m.len()));
            }
            return Ok(out);
        }
        for (_, d) in self.dirs(ty)? {
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
        remove_file(&self.full(ty, name))
    }

    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        let mut out = Vec::new();
        for (prefix, d) in self.dirs(ty)? {
            let rd = match fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(err("list", &d, e)),
            };
            for entry in rd {
                let entry = entry.map_err(|e| err("list", &d, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let meta = match entry.metadata() {
                    Ok(m) => m,
                    // Renamed or removed since the listing: not left behind.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(err("stat", &entry.path(), e)),
                };
                if meta.is_file() {
                    out.push(TempFile {
                        name: format!("{prefix}{name}"),
                        size: meta.len(),
                        modified: meta.modified().ok(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        check_temp_name(ty, name)?;
        remove_file(&self.root.join(ty.dir()).join(name))
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err("remove", path, e)),
    }
}

impl LocalBackend {
    /// The directories holding objects of a type, each with the prefix its
    /// entries' names get (`<xx>/` for packs' fan-out directories).
    fn dirs(&self, ty: FileType) -> Result<Vec<(String, PathBuf)>> {
        let dir = self.root.join(ty.dir());
        if ty != FileType::Pack {
            return Ok(vec![(String::new(), dir)]);
        }
        let mut dirs = Vec::new();
        let rd = fs::read_dir(&dir).map_err(|e| err("list", &dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| err("list", &dir, e))?;
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let sub = entry.file_name().to_string_lossy().into_owned();
                dirs.push((format!("{sub}/"), entry.path()));
            }
        }
        Ok(dirs)
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

    #[test]
    fn temporary_files_are_listed_apart_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("repo"));
        b.create().unwrap();
        b.write(FileType::Pack, "abcdef", b"pack").unwrap();
        // What a SIGKILLed ship leaves.
        fs::write(
            dir.path().join("repo/data/ab/.tmp-99999-0123abcd"),
            b"partial",
        )
        .unwrap();
        fs::write(dir.path().join("repo/index/.tmp-99999-feedbeef"), b"xy").unwrap();
        assert_eq!(b.list(FileType::Pack).unwrap(), vec![("abcdef".into(), 4)]);
        let packs = b.list_temporary(FileType::Pack).unwrap();
        assert_eq!(packs.len(), 1);
        assert_eq!(packs[0].name, "ab/.tmp-99999-0123abcd");
        assert_eq!((packs[0].size, packs[0].pid()), (7, Some(99999)));
        assert!(packs[0].modified.is_some());
        let index = b.list_temporary(FileType::Index).unwrap();
        assert_eq!(index[0].name, ".tmp-99999-feedbeef");
        assert!(b.list_temporary(FileType::Snapshot).unwrap().is_empty());
        // Never an object, never outside the type's directory.
        for bad in [
            "ab/abcdef",
            "abcdef",
            "../config",
            "ab/../../config",
            ".tmp-",
        ] {
            assert!(matches!(
                b.remove_temporary(FileType::Pack, bad),
                Err(Error::Invalid { .. })
            ));
        }
        b.remove_temporary(FileType::Pack, &packs[0].name).unwrap();
        b.remove_temporary(FileType::Pack, &packs[0].name).unwrap();
        b.remove_temporary(FileType::Index, &index[0].name).unwrap();
        assert!(b.list_temporary(FileType::Pack).unwrap().is_empty());
        assert!(b.list_temporary(FileType::Index).unwrap().is_empty());
        assert_eq!(b.read(FileType::Pack, "abcdef").unwrap(), b"pack");
    }

    /// Modes are 0700 and 0600 under the test's umask (usually 022; the
    /// e2e test `modes::` sets 022 explicitly).
    #[test]
    fn modes_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let b = LocalBackend::new(&root);
        b.create().unwrap();
        b.write(FileType::Pack, "abcdef", b"pack").unwrap();
        b.write(FileType::Key, "k1", b"key").unwrap();
        b.write(FileType::Config, "config", b"c").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        for d in ["data", "data/ab", "keys", "index", "snapshots", "locks"] {
            assert_eq!(mode(&root.join(d)), 0o700, "{d}");
        }
        for f in ["data/ab/abcdef", "keys/k1", "config"] {
            assert_eq!(mode(&root.join(f)), 0o600, "{f}");
        }
    }
}
