//! `zfs send` as a reader.

use std::io::{self, Read};
use std::process::{ChildStdout, Stdio};

use crate::error::ZfsError;
use crate::name::SnapshotName;
use crate::streaming::Streaming;
use crate::zfs::Zfs;

/// What to send. Build with [`SendArgs::full`] or [`SendArgs::incremental`],
/// then set the flags; [`Zfs::send`] refuses flags the dialect lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendArgs {
    /// The snapshot to send.
    pub snapshot: SnapshotName,
    /// `-i from`: an earlier snapshot of the same dataset.
    pub from: Option<SnapshotName>,
    /// `-w`: raw (encrypted datasets stay encrypted).
    pub raw: bool,
    /// `-c`: blocks as compressed on disk.
    pub compressed: bool,
    /// `-L`: records larger than 128 KiB.
    pub large_blocks: bool,
    /// `-e`: embedded-data blocks.
    pub embedded: bool,
}

impl SendArgs {
    /// A full stream of `snapshot`, no flags set.
    pub fn full(snapshot: SnapshotName) -> Self {
        SendArgs {
            snapshot,
            from: None,
            raw: false,
            compressed: false,
            large_blocks: false,
            embedded: false,
        }
    }

    /// An incremental stream from `from` to `snapshot`, no flags set.
    pub fn incremental(from: SnapshotName, snapshot: SnapshotName) -> Self {
        SendArgs {
            from: Some(from),
            ..SendArgs::full(snapshot)
        }
    }

    /// The flags in a fixed order, without the snapshot itself, e.g.
    /// `["-c", "-i", "tank/ds@base"]`; fit for recording in a manifest.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        for (on, flag) in [
            (self.raw, "-w"),
            (self.compressed, "-c"),
            (self.large_blocks, "-L"),
            (self.embedded, "-e"),
        ] {
            if on {
                flags.push(flag.to_owned());
            }
        }
        if let Some(from) = &self.from {
            flags.push("-i".to_owned());
            flags.push(from.to_string());
        }
        flags
    }

    /// Checks the arguments against each other and against `zfs`.
    fn validate(&self, zfs: &Zfs) -> Result<(), ZfsError> {
        if let Some(from) = &self.from {
            if from.dataset() != self.snapshot.dataset() {
                return Err(ZfsError::InvalidArgument {
                    argument: from.to_string(),
                    reason: format!(
                        "an incremental base must be a snapshot of the same dataset as {}",
                        self.snapshot
                    ),
                });
            }
            if from == &self.snapshot {
                return Err(ZfsError::InvalidArgument {
                    argument: from.to_string(),
                    reason: "an incremental base must differ from the snapshot sent".into(),
                });
            }
        }
        let wanted = [
            (self.raw, "raw send (-w)"),
            (self.compressed, "compressed send (-c)"),
            (self.large_blocks, "large-block send (-L)"),
            (self.embedded, "embedded-data send (-e)"),
        ];
        if wanted.iter().any(|(on, _)| *on) {
            let f = zfs.features()?;
            let have = [
                f.raw_send,
                f.compressed_send,
                f.large_blocks,
                f.embedded_data,
            ];
            for ((on, feature), have) in wanted.into_iter().zip(have) {
                if on && !have {
                    return Err(zfs.unsupported(feature));
                }
            }
        }
        Ok(())
    }
}

/// The stdout of a running `zfs send`. Read it to the end, then call
/// [`finish`](SendStream::finish). If zfs fails, the read that hits the end
/// of the stream already returns an error (an `io::Error` wrapping the
/// [`ZfsError`]), so a partial stream never passes for a whole one. Dropping
/// it unfinished kills and reaps the child. A read that zfs keeps blocked
/// for [`Zfs::timeout`], or a `finish` that waits that long for zfs to
/// exit, kills it: [`ZfsError::Timeout`].
#[must_use = "call finish() to learn whether zfs send succeeded"]
#[derive(Debug)]
pub struct SendStream {
    stdout: Option<ChildStdout>,
    proc: Streaming,
}

impl Zfs {
    /// Starts `zfs send [flags] SNAPSHOT`.
    pub fn send(&self, args: &SendArgs) -> Result<SendStream, ZfsError> {
        args.validate(self)?;
        let mut argv = vec!["send".to_owned()];
        argv.extend(args.flags());
        argv.push(args.snapshot.to_string());
        let line = self.zfs_line(argv);
        let object = args.snapshot.to_string();
        let mut proc =
            Streaming::spawn(line, object, Stdio::null(), Stdio::piped(), self.timeout())?;
        Ok(SendStream {
            stdout: proc.take_stdout(),
            proc,
        })
    }
}

impl SendStream {
    /// The command line, e.g. `zfs send -i 'tank/a b@1' 'tank/a b@2'`.
    pub fn command(&self) -> &str {
        self.proc.line().display()
    }

    /// Closes the stream, waits for zfs and turns a failure into a typed
    /// error. Finishing before the end of the stream makes zfs fail (EPIPE).
    pub fn finish(mut self) -> Result<(), ZfsError> {
        self.stdout = None;
        self.proc.reap().map_err(|e| self.proc.line().io_error(e))?;
        self.proc.outcome()
    }
}

impl Read for SendStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(stdout) = self.stdout.as_mut() else {
            return self.proc.outcome().map(|()| 0).map_err(io::Error::other);
        };
        let n = self.proc.blocked(|| stdout.read(buf))?;
        if n == 0 && !buf.is_empty() {
            self.stdout = None;
            self.proc.reap()?;
            self.proc.outcome().map_err(io::Error::other)?;
        }
        Ok(n)
    }
}

impl Drop for SendStream {
    fn drop(&mut self) {
        self.stdout = None;
        self.proc.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(s: &str) -> SnapshotName {
        s.parse().unwrap()
    }

    #[test]
    fn flags_in_fixed_order() {
        assert!(SendArgs::full(snap("t/a b@2")).flags().is_empty());
        let mut args = SendArgs::incremental(snap("t/a b@1"), snap("t/a b@2"));
        assert_eq!(args.flags(), ["-i", "t/a b@1"]);
        args.embedded = true;
        args.raw = true;
        args.large_blocks = true;
        args.compressed = true;
        assert_eq!(args.flags(), ["-w", "-c", "-L", "-e", "-i", "t/a b@1"]);
    }

    #[test]
    fn incremental_base_must_be_same_dataset() {
        // Validation of names happens before zfs is consulted.
        let zfs = Zfs::with_binaries("/nonexistent/zfs", "/nonexistent/zpool");
        let args = SendArgs::incremental(snap("t/a@1"), snap("t/b@2"));
        let err = args.validate(&zfs).unwrap_err();
        assert!(matches!(err, ZfsError::InvalidArgument { .. }), "{err:?}");
        assert!(err.to_string().contains("t/a@1") && err.to_string().contains("t/b@2"));
        let same = SendArgs::incremental(snap("t/a@1"), snap("t/a@1"));
        assert!(same.validate(&zfs).is_err());
        assert!(SendArgs::incremental(snap("t/a@1"), snap("t/a@2"))
            .validate(&zfs)
            .is_ok());
    }
}
