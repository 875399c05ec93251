//! Facts about the running host.

pub use backup_zfs::host::hostname;
