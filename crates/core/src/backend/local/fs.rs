//! The file-system calls of the local backend, behind a small trait: the
//! real one ([`StdFs`], `std::fs`, what every build uses) and, for tests, a
//! simulated disk that loses what was not made durable at a power cut
//! (`power_cut.rs`, feature `test-support`). Static dispatch: the real
//! path costs nothing over calling `std::fs` directly.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::SystemTime;

use crate::backend::{DIR_MODE, FILE_MODE};

/// What the local backend needs to know of a file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// A regular file.
    pub is_file: bool,
    /// A directory.
    pub is_dir: bool,
    /// Its length in bytes.
    pub len: u64,
    /// When it was last written, if known.
    pub modified: Option<SystemTime>,
}

/// The file-system operations of [`LocalBackend`](super::LocalBackend).
///
/// Durability, as POSIX file systems give it and the backend relies on
/// (docs/design.md §11.1): a file's data is durable once
/// [`sync_file`](LocalFs::sync_file) returns; a name created, renamed or
/// removed in a directory is durable once [`sync_dir`](LocalFs::sync_dir)
/// of that directory returns; a rename within a directory is atomic.
pub trait LocalFs: Send + Sync + std::fmt::Debug {
    /// An open, new file.
    type File: Write;

    /// Creates a new file (mode 0600), failing if the name exists.
    fn create_new(&self, path: &Path) -> io::Result<Self::File>;
    /// Makes the file's data durable (`fsync`).
    fn sync_file(&self, file: &mut Self::File) -> io::Result<()>;
    /// Renames, replacing `to` atomically if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the entries of a directory durable (`fsync` of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// `mkdir -p`, mode 0700 for what it creates.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Sets a directory's mode to 0700.
    fn set_private(&self, dir: &Path) -> io::Result<()>;
    /// A whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// `len` bytes at `offset`; a short file is an `UnexpectedEof` error.
    fn read_at(&self, path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>>;
    /// What the path is (following symlinks).
    fn metadata(&self, path: &Path) -> io::Result<Meta>;
    /// A directory's entries, each with its name and metadata (an entry
    /// removed since the listing gives a `NotFound` metadata error).
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<(String, io::Result<Meta>)>>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

fn meta(m: &fs::Metadata) -> Meta {
    Meta {
        is_file: m.is_file(),
        is_dir: m.is_dir(),
        len: m.len(),
        modified: m.modified().ok(),
    }
}

impl LocalFs for StdFs {
    type File = File;

    fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
    }

    fn sync_file(&self, file: &mut File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
    }

    fn set_private(&self, dir: &Path) -> io::Result<()> {
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn read_at(&self, path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; usize::try_from(len).expect("range fits in memory")];
        f.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn metadata(&self, path: &Path) -> io::Result<Meta> {
        fs::metadata(path).map(|m| meta(&m))
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<(String, io::Result<Meta>)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((name, entry.metadata().map(|m| meta(&m))));
        }
        Ok(out)
    }
}
