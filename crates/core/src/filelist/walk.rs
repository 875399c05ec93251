//! Walking a tree into a [`FileList`]: walkdir, no symlinks followed, one
//! file system, every regular file's content hashed with BLAKE3 unless the
//! previous list vouches for it.
//!
//! # Digest reuse
//!
//! An entry of `reuse` (the base snapshot's list) lends its digest when it
//! has the same path, type, inode, size, mtime and ctime, seconds and
//! nanoseconds. Any change to a file's content updates its ctime, and ctime
//! cannot be set by users (unlike mtime, `touch -d`): it is the kernel's
//! clock at the change. Inode numbers are ZFS object numbers, kept by
//! snapshots, clones and `zfs receive`. So a file with the same inode and
//! the same ctime to the nanosecond has not changed since the base was
//! walked; only a clock that went back to the exact nanosecond while the
//! same object was rewritten to the same size could fool the rule.
//!
//! That needs a ctime finer than the changes. Where time stamps are coarse
//! (zfs-fuse: whole seconds), a file changed again in the very second its
//! base snapshot was taken keeps its ctime, size and inode. So, as git does
//! for "racy" index entries, a base entry whose ctime is not older than the
//! base snapshot's creation lends nothing ([`forget_racy_digests`]): such a
//! file is read again; a change after that second shows in its ctime.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::{Entry, FileList, Kind};
use crate::error::{Error, Result};

/// Bytes read at a time while hashing a file.
pub(super) const READ_BUF: usize = 1 << 20;

/// What a walk cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Entries listed.
    pub entries: u64,
    /// Regular files whose content was read.
    pub files_read: u64,
    /// Bytes read to hash them.
    pub bytes_read: u64,
    /// Regular files whose digest came from the previous list.
    pub files_reused: u64,
    /// Regular files whose digest came from the send stream
    /// ([`StreamDigests`](super::StreamDigests)).
    pub files_from_stream: u64,
}

/// Walks `root` into a sorted [`FileList`] whose root entry has path `""`.
/// Symlinks are not followed, and other file systems mounted below `root`
/// are not entered (their mountpoint directory is listed). A regular file's
/// digest is taken from `reuse` when the rule in the module docs allows.
/// An unreadable path is an error naming it.
pub fn walk(root: &Path, reuse: Option<&FileList>) -> Result<FileList> {
    walk_counted(root, reuse).map(|(list, _)| list)
}

/// [`walk`], also saying how many files were read and how many reused.
pub fn walk_counted(root: &Path, reuse: Option<&FileList>) -> Result<(FileList, WalkStats)> {
    let (mut list, mut stats) = walk_metadata(root, reuse)?;
    fill_digests(root, &mut list, &HashMap::new(), &mut stats)?;
    Ok((list, stats))
}

/// The first half of [`walk_counted`]: every entry with its metadata and
/// the digests `reuse` lends; the other regular files have none yet
/// ([`wanted_objects`] lists them, [`fill_digests`] completes the list).
pub fn walk_metadata(root: &Path, reuse: Option<&FileList>) -> Result<(FileList, WalkStats)> {
    let mut stats = WalkStats::default();
    let mut entries = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .same_file_system(true);
    for item in walker {
        let item = item.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
            Error::io(format!("walking {path}"), e.into())
        })?;
        let full = item.path();
        let meta = item.metadata().map_err(|e| {
            Error::io(
                format!("reading the metadata of {}", full.display()),
                e.into(),
            )
        })?;
        let rel = full.strip_prefix(root).unwrap_or(full);
        let mut entry = entry_of(rel.as_os_str().as_bytes().to_vec(), &meta);
        match entry.kind {
            Kind::Symlink => {
                let target = std::fs::read_link(full)
                    .map_err(|e| Error::io(format!("reading the symlink {}", full.display()), e))?;
                entry.target = Some(target.into_os_string().as_bytes().to_vec());
            }
            Kind::File => {
                entry.blake3 = reuse
                    .and_then(|r| r.get(&entry.path))
                    .filter(|old| unchanged(old, &entry))
                    .and_then(|old| old.blake3);
                if entry.blake3.is_some() {
                    stats.files_reused += 1;
                }
            }
            _ => {}
        }
        entries.push(entry);
    }
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    stats.entries = entries.len() as u64;
    Ok((FileList { entries }, stats))
}

/// The regular files of `list` without a digest: inode (object) number to
/// size, for [`StreamDigests`](super::StreamDigests).
pub fn wanted_objects(list: &FileList) -> HashMap<u64, u64> {
    list.entries
        .iter()
        .filter(|e| e.kind == Kind::File && e.blake3.is_none())
        .map(|e| (e.ino, e.size))
        .collect()
}

/// Completes a [`walk_metadata`] list of the tree at `root`: a regular file
/// without a digest takes the one of its inode in `from_stream`, else its
/// content is read and hashed.
pub fn fill_digests(
    root: &Path,
    list: &mut FileList,
    from_stream: &HashMap<u64, [u8; 32]>,
    stats: &mut WalkStats,
) -> Result<()> {
    let mut buf = Vec::new();
    for e in &mut list.entries {
        if e.kind != Kind::File || e.blake3.is_some() {
            continue;
        }
        if let Some(d) = from_stream.get(&e.ino) {
            e.blake3 = Some(*d);
            stats.files_from_stream += 1;
            continue;
        }
        if buf.is_empty() {
            buf = vec![0u8; READ_BUF];
        }
        let path = root.join(std::ffi::OsStr::from_bytes(&e.path));
        let (d, n) = hash_file(&path, &mut buf)?;
        e.blake3 = Some(d);
        stats.files_read += 1;
        stats.bytes_read += n;
    }
    Ok(())
}

/// The entry for `meta`, without target or digest.
fn entry_of(path: Vec<u8>, meta: &Metadata) -> Entry {
    let ft = meta.file_type();
    let kind = if ft.is_file() {
        Kind::File
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_fifo() {
        Kind::Fifo
    } else if ft.is_socket() {
        Kind::Socket
    } else if ft.is_char_device() {
        Kind::Char
    } else {
        Kind::Block
    };
    Entry {
        path,
        kind,
        size: match kind {
            Kind::File | Kind::Symlink => meta.size(),
            _ => 0,
        },
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec() as u32,
        ctime: meta.ctime(),
        ctime_nsec: meta.ctime_nsec() as u32,
        ino: meta.ino(),
        target: None,
        rdev: matches!(kind, Kind::Char | Kind::Block).then(|| meta.rdev()),
        blake3: None,
    }
}

/// Makes the entries of `base` (the list of a snapshot created at
/// `created`, Unix seconds) that may have changed after the snapshot in the
/// same second lend no digest (module docs): their ctime is not older than
/// `created`. Returns how many.
pub fn forget_racy_digests(base: &mut FileList, created: i64) -> usize {
    let mut n = 0;
    for e in base.entries.iter_mut().filter(|e| e.ctime >= created) {
        if e.blake3.take().is_some() {
            n += 1;
        }
    }
    n
}

/// The digest reuse rule (module docs).
fn unchanged(old: &Entry, new: &Entry) -> bool {
    old.kind == new.kind
        && old.ino == new.ino
        && old.size == new.size
        && (old.mtime, old.mtime_nsec) == (new.mtime, new.mtime_nsec)
        && (old.ctime, old.ctime_nsec) == (new.ctime, new.ctime_nsec)
}

/// BLAKE3 of a file's content and the bytes read, in bounded memory.
pub(super) fn hash_file(path: &Path, buf: &mut [u8]) -> Result<([u8; 32], u64)> {
    let err = |e| Error::io(format!("reading {}", path.display()), e);
    let mut f = File::open(path).map_err(err)?;
    let mut h = blake3::Hasher::new();
    let mut total = 0u64;
    loop {
        match f.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(err(e)),
        }
    }
    Ok((*h.finalize().as_bytes(), total))
}
