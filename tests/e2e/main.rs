//! End-to-end tests: the real `backup` binary against real ZFS (zfs-fuse
//! here, OpenZFS in the VM lane), one test binary split into modules.

mod browse;
mod catalog;
mod chain_damage;
mod config;
mod crash;
mod diagnosis;
mod disk_full;
mod drill;
mod drill_history;
mod drill_schedule;
mod failures;
mod file_manifests;
mod harness;
mod incident;
mod jobs;
mod keys;
mod month;
mod openzfs;
mod prune;
mod read_only;
mod remote;
mod remote_cluster;
mod remote_faults;
mod remote_many_hosts;
mod remote_s3;
mod remote_sftp;
mod repair;
mod repo_files;
mod round_trip;
mod schedule_units;
mod servers;
mod status;
mod verification;
mod volumes;
mod wedge;
