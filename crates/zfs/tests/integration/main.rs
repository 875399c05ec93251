//! Integration tests on real ZFS (zfs-fuse here, OpenZFS in the VM lane).
//! Every test makes its own pool on a sparse file; dataset names with
//! spaces are used on purpose, as zrepl's platform tests do.

mod datasets;
mod dialect;
mod helpers;
mod send_receive;
mod snapshots;
mod views;
mod wedge;
