//! File manifests' data: every path of a snapshot with its type, size,
//! mode, owner, mtime, symlink target and content digest ([`FileList`]),
//! its byte encoding ([`encode`], [`decode`]), where a stored list is
//! ([`FileListRef`], in a manifest) and a volume's digest ([`VolumeDigest`]).
//! docs/design.md, "File manifests", has the encoding byte by byte.

mod encode;

#[cfg(test)]
mod tests;

pub use encode::{decode, encode, entries, Entries};
pub(crate) use encode::{header_piece, not_after, record_piece, Piece};

use serde::{Deserialize, Serialize};

use crate::id::Id;

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Character device.
    Char,
    /// Block device.
    Block,
}

/// One path of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the dataset's root, `/`-separated, as the file
    /// system's bytes (not necessarily UTF-8). The root itself is `""`.
    pub path: Vec<u8>,
    /// Type.
    pub kind: Kind,
    /// Regular files: length in bytes; symlinks: target length; else 0.
    pub size: u64,
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds.
    pub mtime: i64,
    /// Modification time, nanoseconds.
    pub mtime_nsec: u32,
    /// Change time, seconds (not compared; lets a later walk reuse a digest).
    pub ctime: i64,
    /// Change time, nanoseconds.
    pub ctime_nsec: u32,
    /// Inode (ZFS object) number (not compared; for digest reuse).
    pub ino: u64,
    /// Symlink target bytes.
    pub target: Option<Vec<u8>>,
    /// Device number of character and block devices.
    pub rdev: Option<u64>,
    /// BLAKE3 of a regular file's content.
    pub blake3: Option<[u8; 32]>,
}

impl Entry {
    /// The path for people: lossy UTF-8, `/` for the root.
    pub fn display_path(&self) -> String {
        shown_path(&self.path)
    }
}

/// A recorded path for people: lossy UTF-8, `/` for the root (`""`).
pub(crate) fn shown_path(p: &[u8]) -> String {
    if p.is_empty() {
        "/".into()
    } else {
        String::from_utf8_lossy(p).into_owned()
    }
}

/// A whole tree, sorted by path bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileList {
    /// Entries, sorted by `path`.
    pub entries: Vec<Entry>,
}

impl FileList {
    /// The entry at `path`, by binary search (entries are sorted).
    pub fn get(&self, path: &[u8]) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.as_slice().cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Sum of the regular files' sizes.
    pub fn file_bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .map(|e| e.size)
            .sum()
    }
}

/// Where a snapshot's file manifest is in the repository (in its manifest).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileListRef {
    /// The encoded list's chunks, in order (stored like stream chunks).
    pub chunks: Vec<Id>,
    /// Length of the encoded list.
    pub len: u64,
    /// BLAKE3 of the encoded list, hex.
    pub digest: String,
    /// Number of entries.
    pub entries: u64,
    /// Sum of the regular files' sizes.
    pub bytes: u64,
    /// How the tree was read: "snapdir" (`.zfs/snapshot`) or "clone".
    pub view: String,
    /// Seconds the walk took.
    pub seconds: f64,
}

/// The digest of a volume's whole device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeDigest {
    /// BLAKE3 of the device's bytes, hex.
    pub blake3: String,
    /// Bytes read.
    pub size: u64,
}
