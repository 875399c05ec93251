//! `repair`: make a damaged repository usable again, losing only what is
//! already lost. Each part has a plan (what it would do, and why), shown by
//! `--dry-run`, and runs under the exclusive repository lock like prune;
//! each writes what replaces an object before it removes the object, so a
//! repair that stops at any point leaves the repository no worse.
//!
//! | part | file | for |
//! |---|---|---|
//! | `repair index` | `index.rs` | a lost or damaged index: rebuilt from the packs' own trailers |
//! | `repair packs` | `packs.rs` | damaged packs: their readable blobs copied into new packs, the rest dropped from the index |
//! | `repair snapshots` | `snapshots.rs` | manifests that cannot be read, whose data is gone, or whose chain is broken: removed |
//!
//! The order for a badly damaged repository is index, packs, snapshots:
//! the snapshot step judges data by the index, and refuses while an index
//! segment cannot be read. Dropping a lost blob from the index also heals:
//! the next ship that meets the same data uploads it again.

mod index;
mod packs;
mod snapshots;

#[cfg(test)]
mod tests;

pub use index::{plan_index_repair, repair_index, IndexRepair, IndexRepairPlan};
pub use packs::{plan_pack_repair, repair_packs, DamagedPack, PackRepair, PackRepairPlan};
pub use snapshots::{plan_snapshot_repair, repair_snapshots, Removal, SnapshotRepair};
