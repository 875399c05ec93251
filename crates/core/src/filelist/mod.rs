//! File manifests: every path of a shipped snapshot with its type, size,
//! mode, owner, mtime, symlink target and the BLAKE3 of its content,
//! recorded at backup time and compared with the restored tree by a
//! restore drill (layer 3).
//!
//! This module reads trees ([`walk`], [`digest_device`]; a ship takes
//! files' digests from its stream, [`StreamDigests`]), compares them
//! ([`compare`]), and answers questions from recorded lists: a directory's
//! entries ([`children`]), what changed between two ([`diff`]), which
//! paths match a glob ([`path_matches`]). The data and its encoding are `format`'s (re-exported
//! here); storing a list in the repository and loading it back is
//! [`store_file_list`](crate::store_file_list) and
//! [`load_file_list`](crate::load_file_list), beside ship and restore.
//! docs/design.md, "File manifests", has the encoding byte by byte and the
//! digest reuse rule.

mod browse;
mod compare;
mod glob;
mod stream_digests;
mod volume;
mod walk;

#[cfg(test)]
pub(crate) mod tests;

pub use crate::format::file_list::{
    decode, encode, entries, Entries, Entry, FileList, FileListRef, Kind, VolumeDigest,
};
pub use browse::{children, diff, diff_entries, diff_sorted, is_under, status_of, Change, Status};
pub use compare::compare;
pub use glob::path_matches;
pub use stream_digests::{StreamDigests, VOLUME_OBJECT};
pub use volume::digest_device;
pub use walk::{
    fill_digests, forget_racy_digests, walk, walk_counted, walk_metadata, wanted_objects, WalkStats,
};

use serde::{Deserialize, Serialize};

/// How a restored tree differs from its manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Entries in the manifest.
    pub expected: u64,
    /// Entries in the restored tree.
    pub actual: u64,
    /// Paths in the manifest but not restored: all counted, the first `cap` listed.
    pub missing: u64,
    /// Paths restored but not in the manifest.
    pub extra: u64,
    /// Paths in both that differ.
    pub changed: u64,
    /// The first `cap` missing paths.
    pub missing_paths: Vec<String>,
    /// The first `cap` extra paths.
    pub extra_paths: Vec<String>,
    /// The first `cap` changed paths, each with what differs
    /// ("content", "size", "mode", "owner", "mtime", "type", "target", "rdev").
    pub changed_paths: Vec<(String, Vec<String>)>,
}

impl Comparison {
    /// Nothing missing, extra or changed.
    pub fn matches(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.changed == 0
    }
}
