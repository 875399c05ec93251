//! The error type of every `zfs`/`zpool` operation.

use crate::name::NameError;

/// What went wrong running `zfs` or `zpool`.
///
/// Known stderr texts become typed variants (see `classify.rs`, each pattern
/// marked with where it was verified); everything else is
/// [`ZfsError::Command`] with the full command line and its stderr, capped at
/// 32 KiB. Every message names the dataset, snapshot or command concerned.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum ZfsError {
    /// The dataset or snapshot does not exist.
    #[error("dataset {name:?} does not exist")]
    DatasetNotFound {
        /// The full name of the missing dataset or snapshot.
        name: String,
    },

    /// `zfs snapshot` found a snapshot of that name already.
    #[error("snapshot {name:?} already exists")]
    SnapshotExists {
        /// The full name of the snapshot, `pool/ds@snap`.
        name: String,
    },

    /// `zfs create`, or `zfs receive` of a full stream without `-F`, found the
    /// dataset already there.
    #[error("dataset {name:?} already exists")]
    DatasetExists {
        /// The name of the dataset that is already there.
        name: String,
    },

    /// A full stream cannot replace a dataset that has snapshots, even with
    /// `-F`; `example` is one of them.
    #[error("cannot receive a full stream into {target:?}: it has snapshots (e.g. {example:?})")]
    DestinationHasSnapshots {
        /// The dataset the stream was to be received into.
        target: String,
        /// The full name of one of its snapshots.
        example: String,
    },

    /// The incremental's base does not fit: on receive, the target's most
    /// recent snapshot is not the stream's base; on send, `from` is not an
    /// earlier snapshot of the same dataset.
    #[error("incremental stream does not fit {target:?}: {detail}")]
    IncrementalMismatch {
        /// The dataset the stream was for (the receive target, or the sent dataset).
        target: String,
        /// What did not fit, in zfs's words or ours.
        detail: String,
    },

    /// The target changed since its most recent snapshot (receive without
    /// `-F`). On zfs-fuse reading files of a mounted target (atime) is enough;
    /// receive with `unmounted: true`.
    #[error("{target:?} has been modified since its most recent snapshot")]
    DestinationModified {
        /// The dataset the stream was to be received into.
        target: String,
    },

    /// The dataset or snapshot is busy (mounted and in use, held, being received).
    #[error("{name:?} is busy")]
    Busy {
        /// The busy dataset or snapshot (or the command's object when zfs does not name it).
        name: String,
    },

    /// Destroying `name` needs `-r`/`-R`: it has children, snapshots or clones.
    #[error("{name:?} has dependents: {}", dependents.join(", "))]
    HasDependents {
        /// The dataset or snapshot that was to be destroyed.
        name: String,
        /// The dependents zfs listed, one name each (may be empty).
        dependents: Vec<String>,
    },

    /// `zfs receive` read a stream it could not use (truncated, garbage, empty).
    #[error("zfs receive into {target:?} rejected the stream: {detail}")]
    InvalidStream {
        /// The dataset the stream was to be received into.
        target: String,
        /// The reason zfs gave (the last `: `-separated part of its message).
        detail: String,
    },

    /// The dialect of `zfs` installed lacks a feature the call asked for.
    #[error("{feature} is not supported by {dialect}")]
    Unsupported {
        /// The feature asked for, e.g. a command-line option.
        feature: &'static str,
        /// The dialect's name (see [`Dialect::name`](crate::Dialect::name)), or `this zfs`.
        dialect: String,
    },

    /// ZFS is not usable at all: no zfs-fuse daemon, no kernel module.
    #[error("ZFS is not available running `{command}`: {detail}")]
    Unavailable {
        /// The full command line that found ZFS missing.
        command: String,
        /// Its stderr, on one line.
        detail: String,
    },

    /// A name failed validation.
    #[error(transparent)]
    Name(#[from] NameError),

    /// An argument is inconsistent before anything was run.
    #[error("invalid argument {argument:?}: {reason}")]
    InvalidArgument {
        /// The offending argument, as given.
        argument: String,
        /// Why it is refused.
        reason: String,
    },

    /// The command could not be started.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The full command line.
        command: String,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },

    /// Reading from or writing to the command failed.
    #[error("i/o error talking to `{command}`: {source}")]
    Io {
        /// The full command line.
        command: String,
        /// The failed read or write.
        #[source]
        source: std::io::Error,
    },

    /// A local file operation around a zfs command failed (the private
    /// mountpoint of a snapshot view, a device node).
    #[error("{what}: {source}")]
    LocalIo {
        /// What was being done, e.g. `remove the view directory /x`.
        what: String,
        /// The failed file operation.
        #[source]
        source: std::io::Error,
    },

    /// The command did not finish within its time limit ([`Zfs::timeout`])
    /// and was killed. On zfs-fuse this is its daemon wedging: a FUSE
    /// connection that never answers (docs/design.md §20).
    ///
    /// [`Zfs::timeout`]: crate::Zfs::timeout
    #[error(
        "`{command}` (for {object:?}) did not finish within {} s and was killed{}; \
         a wedged zfs-fuse daemon or a pool stuck in I/O does this \
         (BACKUP_ZFS_TIMEOUT sets the limit)",
        limit.as_secs_f64(),
        if stderr.trim().is_empty() { String::new() } else { format!(" (stderr: {})", stderr.trim_end()) }
    )]
    Timeout {
        /// The full command line.
        command: String,
        /// The dataset or snapshot the command was about.
        object: String,
        /// The time limit it exceeded.
        limit: std::time::Duration,
        /// What the command printed on stderr before it was killed (empty
        /// when it did not die within the grace period).
        stderr: String,
    },

    /// A file system was created or mounted, but its mount did not answer
    /// (a directory listing of it did not return) within the time limit:
    /// on zfs-fuse, a FUSE connection the daemon never initialised.
    #[error(
        "the new mount of {dataset:?} at {} did not answer within {} s \
         (a wedged zfs-fuse daemon; docs/design.md §20)",
        path.display(),
        limit.as_secs_f64()
    )]
    MountNotAnswering {
        /// The file system whose mount did not answer.
        dataset: String,
        /// Its mountpoint.
        path: std::path::PathBuf,
        /// The time limit the listing exceeded.
        limit: std::time::Duration,
    },

    /// A zfs command timed out in a test pool, and the test harness found
    /// zfs-fuse's daemon wedged and recovered it (feature `test-pool`):
    /// `recovery` says what it did. The test failed because of the daemon,
    /// not because of the code under test.
    #[cfg(feature = "test-pool")]
    #[error("zfs-fuse daemon wedged: {cause}; recovered: {recovery}")]
    Wedged {
        /// The error the timed-out command gave.
        cause: Box<ZfsError>,
        /// What the harness did to recover the daemon.
        recovery: String,
    },

    /// The command failed with stderr we do not recognise.
    #[error("command `{command}` failed ({status}): {}", stderr.trim_end())]
    Command {
        /// The full command line.
        command: String,
        /// How it exited, e.g. `exit status: 1`.
        status: String,
        /// What it printed on stderr, capped at 32 KiB.
        stderr: String,
    },

    /// The command's output could not be understood.
    #[error("cannot parse output of `{command}`: {reason}: {line:?}")]
    Parse {
        /// The full command line.
        command: String,
        /// The line of output that could not be parsed.
        line: String,
        /// What was expected of it.
        reason: String,
    },
}
