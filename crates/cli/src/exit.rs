//! Exit codes, in one place. The README and `backup --help` list the same table.

use std::process::ExitCode;

/// How `backup` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked.
    Success,
    /// 1: the command failed (storage, zfs, I/O, a missing snapshot, ...).
    Failure,
    /// 2: the command line or configuration is wrong.
    Usage,
    /// 3: the repository is damaged: `check` (or a job's verification)
    /// found errors, a restore's
    /// verification failed (nothing damaged was written to ZFS), or a ship
    /// found the chain it would extend broken (it shipped a full instead).
    Damaged,
    /// 4: no key of the repository opens with the passphrase given.
    WrongPassphrase,
    /// 5: another run of the same job holds its lock, or another process
    /// held a conflicting repository lock past --lock-wait; nothing was done.
    Locked,
    /// 6: `drill run` only: the drill ran and failed (a verification layer
    /// failed or an RTO/RPO target was missed).
    DrillFailed,
    /// `status --nagios` only: the Nagios plugin codes (0 OK, 1 WARNING,
    /// 2 CRITICAL, 3 UNKNOWN) instead of the table above.
    Nagios(u8),
}

/// The exit code when standard output is closed under a `println!`
/// (`backup list | head`): a quiet success, as for [`ClosedStdout`]
/// (ripgrep, bupstash): the reader stopped, nothing failed.
pub const CLOSED_STDOUT_CODE: i32 = 0;

/// The table shown by `backup --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  failure (storage, zfs, I/O, snapshot not found, ...)
  2  usage error (bad arguments or configuration; `config check`: an error
     found, warnings alone exit 0)
  3  repository damaged (check or a verification found errors, restore
     verification failed, or a ship found the chain it would extend broken
     and shipped a full instead)
  4  wrong passphrase (no key slot opens)
  5  locked: the job is already running, or another process held a conflicting
     repository lock for longer than --lock-wait; nothing done
  6  drill failed: `drill run` found a layer failing or a target missed
A closed standard output (`backup list | head`) ends quietly with 0.
`status --nagios` exits with the Nagios plugin codes instead:
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN";

impl ExitStatus {
    /// The status for an error from a command. A [`ClosedStdout`] anywhere
    /// in its context is a success: the reader stopped, nothing failed.
    pub fn of(err: &anyhow::Error) -> ExitStatus {
        if err.is::<ClosedStdout>() {
            return ExitStatus::Success;
        }
        for cause in err.chain() {
            if let Some(e) = cause.downcast_ref::<backup_core::Error>() {
                return ExitStatus::of_core(e);
            }
            if let Some(e) = cause.downcast_ref::<backup_ops::Error>() {
                return ExitStatus::of_ops(e);
            }
            if cause.downcast_ref::<UsageError>().is_some() {
                return ExitStatus::Usage;
            }
        }
        ExitStatus::Failure
    }

    /// The status to exit with after several jobs or drills: any failure
    /// wins over a lock, a lock over success.
    pub fn worse(self, other: ExitStatus) -> ExitStatus {
        let rank = |s| match s {
            ExitStatus::Success => 0,
            ExitStatus::Locked => 1,
            _ => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    /// The status for an error of the application.
    fn of_ops(e: &backup_ops::Error) -> ExitStatus {
        match e {
            backup_ops::Error::Core(e) => ExitStatus::of_core(e),
            backup_ops::Error::Locked { .. } => ExitStatus::Locked,
            backup_ops::Error::Invalid { .. } => ExitStatus::Usage,
            backup_ops::Error::Restore { source, .. } => ExitStatus::of_ops(source),
            _ => ExitStatus::Failure,
        }
    }

    /// The status for an error of the engine.
    fn of_core(e: &backup_core::Error) -> ExitStatus {
        match e {
            backup_core::Error::WrongPassphrase { .. } => ExitStatus::WrongPassphrase,
            backup_core::Error::RepositoryLocked { .. } => ExitStatus::Locked,
            backup_core::Error::Invalid { .. } => ExitStatus::Usage,
            e if e.is_integrity() => ExitStatus::Damaged,
            _ => ExitStatus::Failure,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Damaged => 3,
            ExitStatus::WrongPassphrase => 4,
            ExitStatus::Locked => 5,
            ExitStatus::DrillFailed => 6,
            ExitStatus::Nagios(code) => code,
        })
    }
}

/// A mistake in what the user asked, as opposed to a failure while doing it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Standard output was closed by its reader (`backup restore --to-file - |
/// head`): attached as context to the write error, it makes the exit quiet
/// and successful (ripgrep, bupstash), while the error keeps its cause.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct ClosedStdout;
