//! `zfs receive` as a writer.
//!
//! One guard sits in front of zfs: zfs-fuse 0.7, given an incremental stream
//! for a target that does not exist, looks the base snapshot up by guid in
//! the whole pool and receives into whichever dataset holds it (verified:
//! `zfs receive pool/new < inc` added the snapshot to another dataset and
//! exited 0; OpenZFS only does this for `-d`/`-e`). So when the target is
//! missing, the sink holds back the stream's BEGIN record, and refuses an
//! incremental before zfs sees a byte, with [`ZfsError::DatasetNotFound`] as
//! OpenZFS reports it.
//!
//! And one workaround: zfs-fuse 0.7 fails a forced full receive into a
//! mounted existing file system one time in two to four with "cannot
//! receive new filesystem stream: I/O error" (verified: 5 of 20, 6 of 12).
//! Unmounting first helps only once the daemon has let go of the file
//! system, which happens after `zfs unmount` returns (1 of 20 still failed
//! right after it; 0 of 30 half a second later; 0 of 20 for a target never
//! mounted). So on zfs-fuse a forced receive into a mounted target unmounts
//! it, waits [`FUSE_UNMOUNT_SETTLE`], and unless `unmounted` was asked for,
//! mounts it again after a successful receive.
//!
//! On zfs-fuse a receive never mounts anything itself: it runs with `-u`,
//! and unless `unmounted` was asked for, the received file system is
//! mounted afterwards through [`Zfs::mount`], serialised with every other
//! mount on the machine (see `mounts.rs`).

use std::io::{self, Write};
use std::process::{ChildStdin, Stdio};

use crate::error::ZfsError;
use crate::name::DatasetName;
use crate::stream_header::{parse_begin, BEGIN_LEN};
use crate::streaming::Streaming;
use crate::zfs::Zfs;

/// How long zfs-fuse needs after `zfs unmount` before a forced receive.
const FUSE_UNMOUNT_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Where and how to receive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiveArgs {
    /// The dataset to receive into.
    pub target: DatasetName,
    /// `-F`: roll the target back to its most recent snapshot first (and,
    /// for a full stream, replace a target without snapshots).
    pub force: bool,
    /// `-u`: do not mount the received file system. Both dialects have it
    /// (zfs-fuse 0.7 accepts it though its usage text omits it). On zfs-fuse,
    /// reading a mounted target updates atime, which makes the next
    /// incremental fail with [`ZfsError::DestinationModified`].
    pub unmounted: bool,
}

impl ReceiveArgs {
    /// Receives into `target`, without `-F` and mounted.
    pub fn new(target: DatasetName) -> Self {
        ReceiveArgs {
            target,
            force: false,
            unmounted: false,
        }
    }
}

/// The stdin of a running `zfs receive`. Write the whole stream, then call
/// [`finish`](ReceiveSink::finish); [`abort`](ReceiveSink::abort) (or a
/// drop) kills zfs, and a stream cut short commits nothing. A write that zfs
/// keeps blocked for [`Zfs::timeout`], or a `finish` that waits that long
/// for zfs to exit, kills it: [`ZfsError::Timeout`].
#[must_use = "call finish() to commit the stream, or abort()"]
#[derive(Debug)]
pub struct ReceiveSink {
    stdin: Option<ChildStdin>,
    proc: Streaming,
    target: String,
    /// The BEGIN record held back while the target is missing; `None` once
    /// checked (or if the target existed).
    held: Option<Vec<u8>>,
    refused: bool,
    /// Mount the target after success (zfs-fuse, which receives with `-u`).
    mount_after: Option<(Zfs, DatasetName)>,
}

impl Zfs {
    /// Starts `zfs receive [-F] [-u] TARGET`.
    pub fn receive(&self, args: &ReceiveArgs) -> Result<ReceiveSink, ZfsError> {
        let target_exists = self.dataset_exists(&args.target)?;
        let fuse = matches!(self.dialect()?, crate::dialect::Dialect::ZfsFuse);
        if fuse && args.force && target_exists && self.unmount_if_mounted(&args.target)? {
            std::thread::sleep(FUSE_UNMOUNT_SETTLE);
        }
        let mount_after = (fuse && !args.unmounted).then(|| (self.clone(), args.target.clone()));
        let mut argv = vec!["receive"];
        if args.force {
            argv.push("-F");
        }
        if args.unmounted || fuse {
            argv.push("-u");
        }
        argv.push(args.target.as_str());
        let line = self.zfs_line(argv);
        let target = args.target.to_string();
        let limit = self.timeout();
        let mut proc =
            Streaming::spawn(line, target.clone(), Stdio::piped(), Stdio::null(), limit)?;
        Ok(ReceiveSink {
            stdin: proc.take_stdin(),
            proc,
            target,
            held: (!target_exists).then(Vec::new),
            refused: false,
            mount_after,
        })
    }
}

impl ReceiveSink {
    /// The `zfs receive` command line, as shown to users.
    pub fn command(&self) -> &str {
        self.proc.line().display()
    }

    /// Closes stdin, waits for zfs and turns a failure into a typed error.
    pub fn finish(mut self) -> Result<(), ZfsError> {
        if self.refused {
            return Err(self.refusal());
        }
        if let Some(held) = self.held.take() {
            // A stream shorter than a BEGIN record: let zfs judge it.
            match self.forward(&held) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    return Err(self.proc.line().io_error(e))
                }
                _ => {}
            }
        }
        self.stdin = None;
        self.proc.reap().map_err(|e| self.proc.line().io_error(e))?;
        self.proc.outcome()?;
        match self.mount_after.take() {
            Some((zfs, target)) => zfs.mount_received(&target),
            None => Ok(()),
        }
    }

    /// Kills zfs and reaps it. A stream not yet complete is not committed.
    pub fn abort(mut self) {
        self.kill();
    }

    fn refusal(&self) -> ZfsError {
        ZfsError::DatasetNotFound {
            name: self.target.clone(),
        }
    }

    fn kill(&mut self) {
        // Kill before closing stdin, so zfs never sees a clean end of stream.
        self.proc.kill();
        self.stdin = None;
    }

    fn forward(&mut self, buf: &[u8]) -> io::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        self.proc.blocked(|| stdin.write_all(buf))
    }

    /// zfs stopped reading: it failed, so report why instead of EPIPE.
    fn broken_pipe(&mut self, e: io::Error) -> io::Error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return e;
        }
        self.stdin = None;
        let reaped = self.proc.reap().map_err(|e| self.proc.line().io_error(e));
        match reaped.and_then(|()| self.proc.outcome()) {
            Err(zfs_err) => io::Error::other(zfs_err),
            Ok(()) => e,
        }
    }
}

impl Write for ReceiveSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.refused {
            return Err(io::Error::other(self.refusal()));
        }
        let Some(held) = self.held.as_mut() else {
            let Some(stdin) = self.stdin.as_mut() else {
                return Err(io::ErrorKind::BrokenPipe.into());
            };
            return self
                .proc
                .blocked(|| stdin.write(buf))
                .map_err(|e| self.broken_pipe(e));
        };
        let take = buf.len().min(BEGIN_LEN - held.len());
        held.extend_from_slice(&buf[..take]);
        if held.len() == BEGIN_LEN {
            let held = self.held.take().unwrap_or_default();
            if parse_begin(&held).is_some_and(|b| b.needs_base()) {
                self.refused = true;
                self.kill();
                return Err(io::Error::other(self.refusal()));
            }
            self.forward(&held).map_err(|e| self.broken_pipe(e))?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.stdin.as_mut() {
            Some(stdin) => stdin.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for ReceiveSink {
    fn drop(&mut self) {
        self.kill();
    }
}
