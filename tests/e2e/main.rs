//! End-to-end tests: the real `backup` binary against real ZFS (zfs-fuse
//! here, OpenZFS in the VM lane), one test binary split into modules.

mod catalog;
mod chain_damage;
mod config;
mod crash;
mod diagnosis;
mod drill;
mod drill_history;
mod drill_schedule;
mod failures;
mod file_manifests;
mod harness;
mod jobs;
mod keys;
mod month;
mod openzfs;
mod prune;
mod read_only;
mod remote;
mod remote_faults;
mod remote_s3;
mod remote_sftp;
mod repo_files;
mod round_trip;
mod schedule_units;
mod servers;
mod status;
mod volumes;
mod wedge;
