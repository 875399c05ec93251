//! `backup-core`: the storage engine of `backup`.
//!
//! It ships ZFS send streams into a repository that is content-defined
//! chunked (FastCDC), deduplicated (keyed BLAKE3 ids), compressed (zstd) and
//! encrypted (XChaCha20-Poly1305) on the source host, and restores them,
//! verifying every blob and every stream's digest. docs/design.md describes
//! the format down to the byte and why its write order is crash-safe.
//!
//! The library never prints; long operations report through [`Progress`].
//!
//! # What it holds
//!
//! - The repository ([`Repository`]): its format (every byte layout,
//!   file-manifest encoding included, in one private `format` module),
//!   crypto and key slots ([`KeySlot`], [`KdfParams`]), and backends
//!   ([`open`]: a directory, SFTP, S3, with retries, throttling and a
//!   metadata cache layered around them).
//! - The pack store, private: the one owner of packs and index segments.
//!   It seals, packs, writes and indexes blobs, and locates, reads and
//!   authenticates them; every operation below asks it.
//! - Operations, all as functions or types at the crate root: [`ship`]
//!   and [`ship_stream`], [`restore_stream`], [`resolve_chain`] and
//!   [`find_snapshot`], [`plan_prune`] and [`prune`], [`check`],
//!   [`resume`] (adopting what an interrupted ship left), [`repair`] (index,
//!   packs, snapshots), lease locks
//!   ([`RepoLock`]), and file manifests ([`store_file_list`],
//!   [`load_file_list`], the walk and comparison in [`filelist`]).
//!
//! Configuration, jobs, schedules, retention, drills and the catalog are
//! the application's, in `backup-ops`, which depends on this crate; this
//! crate never depends on it (`scripts/check-layers.sh`). Its errors are
//! [`Error`]s: storage, format, integrity, chains and locks, with
//! [`backup_zfs::ZfsError`] wrapped unchanged.
//!
//! ```
//! use std::sync::Arc;
//! use backup_core::{InitOptions, KdfParams, MemoryBackend, Repository};
//!
//! let backend = Arc::new(MemoryBackend::new());
//! let opts = InitOptions { kdf: KdfParams { memory_kib: 64, iterations: 1, parallelism: 1 }, ..Default::default() };
//! let repo = Repository::init(backend.clone(), b"correct horse", opts).unwrap();
//! let again = Repository::open(backend, b"correct horse").unwrap();
//! assert_eq!(repo.id(), again.id());
//! ```

mod adopt;
mod backend;
mod chain;
mod check;
mod crypto;
mod error;
pub mod extract;
mod file_manifest;
pub mod filelist;
mod format;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod http_client;
mod id;
mod index_table;
mod ingest;
mod keyslot;
mod pack_store;
mod pause;
mod pipe;
mod progress;
mod prune;
mod records;
pub mod repair;
mod repo_lock;
mod repository;
mod restore;
mod ship;
mod stream_check;
mod workers;

pub use adopt::{adopt_unindexed_packs, resume, Adopted};
pub use backend::{
    open, open_location, Backend, BackendOptions, FileType, LocalBackend, Location, MemoryBackend,
    RetryEvent, RetryNotify, RetryPolicy, S3Settings, SftpSettings, SftpTarget, TempFile,
    TEMP_PREFIX,
};
pub use chain::{find as find_snapshot, resolve as resolve_chain};
pub use check::{
    check, rotation_step, runs_per_pass, CheckOptions, CheckReport, Portion, ReadData, Rotation,
    RotationStep,
};
pub use error::{Error, Result};
pub use file_manifest::{
    file_list_entries, load_file_list, store_file_list, ListEntries, ListSearch,
};
pub use format::config::{ChunkerParams, ConfigBody};
pub use format::manifest::{BaseRef, Manifest, ShipStats};
pub use http_client::build_http_client;
pub use id::Id;
pub use keyslot::{KdfLimits, KdfParams, KeySlot};
pub use pack_store::{pack_usage, PackUsage};
pub use progress::{NoProgress, Progress};
pub use prune::{plan_prune, prune, PruneOptions, PrunePlan, Pruner, TEMP_FILE_SAFETY_AGE};
pub use repo_lock::{
    list_locks, remove_locks, LockInfo, LockKind, LockOptions, ReadLock, RepoLock,
};
pub use repository::{InitOptions, OpenOptions, Repository};
pub use restore::{read_chain, restore_stream};
pub use ship::{choose_base, ship, ship_stream, ShipOutcome, ShipRequest};

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
