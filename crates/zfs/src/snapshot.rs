//! [`Snapshot`]: a snapshot as `zfs` identifies it, made by the parsers and
//! returned by the listing.

use crate::name::SnapshotName;

/// A snapshot as ZFS identifies it: the guid is its identity, createtxg its
/// order; the name is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// Its full name, `pool/ds@snap`.
    pub name: SnapshotName,
    /// Its guid, the same on every pool it is sent to.
    pub guid: u64,
    /// The transaction group it was created in, which orders the snapshots
    /// of a dataset.
    pub createtxg: u64,
    /// Unix seconds.
    pub creation: i64,
}
