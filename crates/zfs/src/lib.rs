//! The zfs/zpool command layer of `backup`.
//!
//! This crate shells out to `zfs` and `zpool`, as zrepl, syncoid and Proxmox
//! do, and gives the rest of the project a narrow, typed interface:
//!
//! - [`DatasetName`] and [`SnapshotName`] are validated once, then trusted.
//! - [`Zfs`] holds the binary paths (fields, never a global) and detects the
//!   [`Dialect`] once: OpenZFS 2.x, or the userspace zfs-fuse 0.7 (pool v23)
//!   used in tests. [`Features`] says what the dialect can do; asking for a
//!   missing feature is [`ZfsError::Unsupported`], never silently dropped.
//! - Snapshots are identified by guid and ordered by createtxg
//!   ([`Snapshot`]); names are for humans.
//! - [`Zfs::send`] returns a [`SendStream`] (`io::Read`), [`Zfs::receive`] a
//!   [`ReceiveSink`] (`io::Write`); each child's stderr is drained on its own
//!   thread (capped at 32 KiB) and failures come back as typed [`ZfsError`]s
//!   parsed from stderr texts verified against real zfs.
//! - Only scripted output is parsed (`-H`, and `-p` where the dialect has it).
//!
//! The library never prints. With the `test-pool` feature, `testpool::TestPool`
//! makes throwaway pools on sparse files for tests.
//!
//! # Example
//!
//! Ship the newest snapshot of a dataset into another one, incrementally if
//! the target already has the base:
//!
//! ```no_run
//! use backup_zfs::{DatasetName, ReceiveArgs, SendArgs, SnapshotName, Zfs, ZfsError};
//!
//! fn replicate(zfs: &Zfs, from: &DatasetName, to: &DatasetName) -> Result<(), ZfsError> {
//!     let snap = SnapshotName::new(from.clone(), "backup-1")?;
//!     zfs.create_snapshots(std::slice::from_ref(&snap), false)?;
//!     let have = zfs.list_snapshots(to).unwrap_or_default();
//!     let args = match have.last() {
//!         Some(base) => SendArgs::incremental(SnapshotName::new(from.clone(), base.name.snap())?, snap),
//!         None => SendArgs::full(snap),
//!     };
//!     let mut stream = zfs.send(&args)?;
//!     let mut sink = zfs.receive(&ReceiveArgs { unmounted: true, ..ReceiveArgs::new(to.clone()) })?;
//!     std::io::copy(&mut stream, &mut sink).map_err(|e| ZfsError::Io {
//!         command: stream.command().to_owned(),
//!         source: e,
//!     })?;
//!     stream.finish()?;
//!     sink.finish()
//! }
//!
//! let zfs = Zfs::new();
//! assert!(!zfs.dialect()?.name().is_empty());
//! replicate(&zfs, &"tank/data".parse()?, &"backup/data".parse()?)?;
//! # Ok::<(), ZfsError>(())
//! ```
//!
//! # zfs-fuse 0.7 quirks (verified on the test machine)
//!
//! - `zfs version` does not exist; `zfs list` has no `-p` and prints guids
//!   as `6.56E`, so snapshot numbers come from `zfs get -Hp`.
//! - `zfs snapshot` takes exactly one snapshot (`-r` is its only atomic group).
//! - `zfs receive -u` works although the usage text omits it.
//! - Reading files of a mounted received dataset updates atime, which makes
//!   the next incremental receive fail with
//!   [`ZfsError::DestinationModified`]; receive with `unmounted`.
//! - An incremental received into a missing target lands in whichever
//!   dataset of the pool holds the base snapshot; [`ReceiveSink`] refuses
//!   such a stream before zfs sees it.
//! - `zfs hold` works but `zfs holds` fails (no pyzfs), so `holds` is false.

mod classify;
mod command;
mod dialect;
mod error;
mod holds;
pub mod host;
mod list;
mod mounts;
mod name;
mod parse;
mod pool;
mod receive;
mod send;
mod send_estimate;
mod snapshot;
mod stream_header;
mod streaming;
mod view;
mod watchdog;
mod zfs;

#[cfg(feature = "test-pool")]
pub mod testpool;

pub use crate::dialect::{Dialect, Features};
pub use crate::error::ZfsError;
pub use crate::mounts::LOCK_FILE as MOUNT_LOCK_FILE;
pub use crate::name::{DatasetName, NameError, SnapshotName, MAX_NAME_LEN};
pub use crate::receive::{ReceiveArgs, ReceiveSink};
pub use crate::send::{SendArgs, SendStream};
pub use crate::snapshot::Snapshot;
pub use crate::view::{
    is_view_clone, SnapshotView, StaleView, ViewKind, VIEW_PREFIX, VIEW_PROPERTY,
};
pub use crate::zfs::{WedgeRecovery, Zfs, FUSE_TIMEOUT, OPENZFS_TIMEOUT, TIMEOUT_ENV};

#[cfg(test)]
mod tests;
