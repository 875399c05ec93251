//! [`Snapshot`]: a snapshot as `zfs` identifies it, made by the parsers and
//! returned by the listing.

use crate::name::SnapshotName;

/// A snapshot as ZFS identifies it: the guid is its identity, createtxg its
/// order; the name is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub name: SnapshotName,
    pub guid: u64,
    pub createtxg: u64,
    /// Unix seconds.
    pub creation: i64,
}
