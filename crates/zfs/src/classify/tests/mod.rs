//! Tests of [`classify`] on real stderr: zfs-fuse 0.7's in `zfs_fuse.rs`,
//! OpenZFS's in `openzfs.rs`.

mod openzfs;
mod zfs_fuse;

use super::*;

/// What `classify` makes of `stderr` from `command` on `object`, exit status 1.
fn run(command: &str, object: &str, stderr: &str) -> ZfsError {
    classify(Context { command, object }, "exit status: 1", stderr)
}
