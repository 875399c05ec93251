//! End-to-end tests: the real `backup` binary against real ZFS (zfs-fuse
//! here, OpenZFS in the VM lane), one test binary split into modules.

mod catalog;
mod config;
mod failures;
mod harness;
mod jobs;
mod openzfs;
mod round_trip;
mod status;
