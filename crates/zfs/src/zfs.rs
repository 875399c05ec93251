//! [`Zfs`]: the binaries, the cached dialect, and dataset operations.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::classify::{classify, Context};
use crate::command::{run, status_text, CommandLine};
use crate::dialect::{detect, Dialect, Features};
use crate::error::ZfsError;
use crate::name::{DatasetName, SnapshotName};
use crate::parse::{parse_mountpoint, parse_value};

/// How long a busy destroy is retried on zfs-fuse (see `destroy_dataset`):
/// the unmount it waits for can take seconds on a loaded machine (seen: a
/// view clone still busy after 1.8 s of retries at a load of 11 on 2 cores).
const FUSE_BUSY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

/// How often a command that zfs-fuse's daemon dropped is run again (see
/// [`daemon_dropped_the_command`]).
const DAEMON_DROP_RETRIES: u32 = 5;

/// True if the command failed because zfs-fuse's daemon closed its
/// connection: libzfs then aborts with `internal error: Connection reset by
/// peer` (seen on `zfs unmount` with a dozen commands in flight on zfs-fuse
/// 0.7). The command is run again: a dropped one either never reached the
/// pool, or did, and its second run reports the state it left (`not
/// currently mounted`, `already exists`), which callers already handle or
/// report by name. Streaming commands (send, receive) never come here.
fn daemon_dropped_the_command(stderr: &str) -> bool {
    stderr.contains("internal error: Connection reset by peer")
}

/// How long a `zfs`/`zpool` command may run on zfs-fuse before it is killed
/// (see [`Zfs::timeout`]): its commands take well under a second, and one
/// that takes minutes is waiting on a wedged daemon.
pub const FUSE_TIMEOUT: Duration = Duration::from_secs(120);
/// The same on OpenZFS, where destroying a large tree or importing a busy
/// pool can legitimately take many minutes.
pub const OPENZFS_TIMEOUT: Duration = Duration::from_secs(3600);
/// The environment variable that overrides both, in seconds.
pub const TIMEOUT_ENV: &str = "BACKUP_ZFS_TIMEOUT";

/// What a test harness does when a command times out (feature `test-pool`):
/// find and recover a wedged daemon, and say what it did (`None`: nothing
/// was wedged).
pub type WedgeRecovery = fn() -> Option<String>;

/// Runs `zfs` and `zpool`. The binary paths are fields, never a global, so
/// tests (and later an ssh runner) can point at their own. The dialect is
/// detected on first use and cached.
#[derive(Debug, Clone)]
pub struct Zfs {
    zfs: PathBuf,
    zpool: PathBuf,
    dialect: OnceLock<Dialect>,
    features: OnceLock<Features>,
    timeout: Option<Duration>,
    recovery: Option<WedgeRecovery>,
}

impl Default for Zfs {
    fn default() -> Self {
        Zfs::new()
    }
}

impl Zfs {
    /// `zfs` and `zpool` as found on `PATH`.
    pub fn new() -> Zfs {
        Zfs::with_binaries("zfs", "zpool")
    }

    /// The given binaries; the time limit of each command from
    /// [`TIMEOUT_ENV`] if it is set to a number of seconds (else the
    /// dialect's default, see [`Zfs::timeout`]).
    pub fn with_binaries(zfs: impl Into<PathBuf>, zpool: impl Into<PathBuf>) -> Zfs {
        let timeout = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64);
        Zfs {
            zfs: zfs.into(),
            zpool: zpool.into(),
            dialect: OnceLock::new(),
            features: OnceLock::new(),
            timeout,
            recovery: None,
        }
    }

    /// The same, with every command limited to `limit`.
    pub fn with_timeout(mut self, limit: Duration) -> Zfs {
        self.timeout = Some(limit);
        self
    }

    /// The same, with `recovery` run when a command times out; the error
    /// then carries what it did (feature `test-pool`).
    #[cfg(feature = "test-pool")]
    pub fn with_wedge_recovery(mut self, recovery: WedgeRecovery) -> Zfs {
        self.recovery = Some(recovery);
        self
    }

    /// How long one `zfs`/`zpool` command may run before it is killed and
    /// reported as [`ZfsError::Timeout`]: as set ([`Zfs::with_timeout`],
    /// [`TIMEOUT_ENV`]), else [`FUSE_TIMEOUT`] on zfs-fuse and
    /// [`OPENZFS_TIMEOUT`] elsewhere. Streaming commands (send, receive) are
    /// bounded by the time spent blocked on them, not by their length.
    pub fn timeout(&self) -> Duration {
        if let Some(limit) = self.timeout {
            return limit;
        }
        match self.dialect() {
            Ok(Dialect::OpenZfs { .. }) => OPENZFS_TIMEOUT,
            _ => FUSE_TIMEOUT,
        }
    }

    /// The `zfs` program this runs.
    pub fn zfs_binary(&self) -> &Path {
        &self.zfs
    }

    /// The `zpool` program this runs.
    pub fn zpool_binary(&self) -> &Path {
        &self.zpool
    }

    /// The dialect, detected by the first call and cached. A failed
    /// detection (e.g. no zfs-fuse daemon yet) is not cached.
    pub fn dialect(&self) -> Result<&Dialect, ZfsError> {
        if let Some(d) = self.dialect.get() {
            return Ok(d);
        }
        let limit = self.timeout.unwrap_or(FUSE_TIMEOUT);
        let detected = detect(&self.zfs, &self.zpool, limit)?;
        Ok(self.dialect.get_or_init(|| detected))
    }

    /// What the dialect supports ([`Dialect::features`]), cached like it.
    pub fn features(&self) -> Result<&Features, ZfsError> {
        if let Some(f) = self.features.get() {
            return Ok(f);
        }
        let features = self.dialect()?.features();
        Ok(self.features.get_or_init(|| features))
    }

    /// An error for a feature this dialect lacks.
    pub(crate) fn unsupported(&self, feature: &'static str) -> ZfsError {
        let dialect = self
            .dialect()
            .map_or_else(|_| "this zfs".to_owned(), Dialect::name);
        ZfsError::Unsupported { feature, dialect }
    }

    pub(crate) fn zfs_line<I, S>(&self, args: I) -> CommandLine
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandLine::new(&self.zfs, args)
    }

    /// Runs `zfs ARGS` to completion; stdout on success, a classified error
    /// about `object` otherwise.
    pub(crate) fn run_zfs<I, S>(&self, args: I, object: &str) -> Result<String, ZfsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run_classified(&self.zfs_line(args), object)
    }

    /// Runs a `zfs` or `zpool` command line to completion within
    /// [`Zfs::timeout`]; stdout on success, a classified error about
    /// `object` otherwise. A command zfs-fuse's daemon dropped is run again
    /// (see [`daemon_dropped_the_command`]).
    pub(crate) fn run_classified(
        &self,
        line: &CommandLine,
        object: &str,
    ) -> Result<String, ZfsError> {
        let limit = self.timeout();
        let mut attempt = 0;
        let out = loop {
            let out = run(line, object, limit).map_err(|e| self.after_timeout(e))?;
            if out.status.success() {
                return Ok(out.stdout);
            }
            if !daemon_dropped_the_command(&out.stderr) || attempt == DAEMON_DROP_RETRIES {
                break out;
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
        };
        let ctx = Context {
            command: line.display(),
            object,
        };
        Err(classify(ctx, &status_text(out.status), &out.stderr))
    }

    /// `err`; if it is a timeout (a command, a mount not answering), after
    /// the wedge recovery of a test harness ran, if one is set.
    pub(crate) fn after_timeout(&self, err: ZfsError) -> ZfsError {
        let timeout = matches!(
            err,
            ZfsError::Timeout { .. } | ZfsError::MountNotAnswering { .. }
        );
        if !timeout {
            return err;
        }
        match self.recovery.and_then(|recover| recover()) {
            #[cfg(feature = "test-pool")]
            Some(recovery) => ZfsError::Wedged {
                cause: Box::new(err),
                recovery,
            },
            _ => err,
        }
    }

    /// Whether the dataset exists (`zfs list` of it).
    pub fn dataset_exists(&self, ds: &DatasetName) -> Result<bool, ZfsError> {
        match self.run_zfs(["list", "-H", "-o", "name", ds.as_str()], ds.as_str()) {
            Ok(_) => Ok(true),
            Err(ZfsError::DatasetNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `ds` and, with `recursive`, every filesystem and volume below it,
    /// sorted by name (parents before children).
    pub fn list_datasets(
        &self,
        ds: &DatasetName,
        recursive: bool,
    ) -> Result<Vec<DatasetName>, ZfsError> {
        let mut args = vec!["list", "-H", "-o", "name", "-t", "filesystem,volume"];
        if recursive {
            args.push("-r");
        }
        args.push(ds.as_str());
        let out = self.run_zfs(args.clone(), ds.as_str())?;
        parse_dataset_names(self.zfs_line(args).display(), ds, &out)
    }

    /// `zfs create [-o k=v]... DS`, creating missing parents first, one at
    /// a time and without the properties. [`ZfsError::DatasetExists`] if
    /// `ds` is already there. On zfs-fuse each creation is serialised and
    /// returns once its mount answers (see `mounts.rs`).
    pub fn create_dataset(&self, ds: &DatasetName, props: &[(&str, &str)]) -> Result<(), ZfsError> {
        let mut args = vec!["create".to_owned()];
        args.extend(property_args(props, &format!("creating {ds}"))?);
        let mut missing = Vec::new();
        let mut parent = ds.parent();
        while let Some(p) = parent {
            if self.dataset_exists(&p)? {
                break;
            }
            parent = p.parent();
            missing.push(p);
        }
        for p in missing.iter().rev() {
            // Another process may make the same parent meanwhile (as `-p` would).
            match self.create_one(vec!["create".to_owned(), p.to_string()], p) {
                Ok(()) | Err(ZfsError::DatasetExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        args.push(ds.to_string());
        self.create_one(args, ds)
    }

    /// `zfs clone [-o k=v]... SNAP TARGET`, serialised on zfs-fuse until the
    /// clone's mount answers; where the clone is mounted, if it is.
    pub fn clone_snapshot(
        &self,
        snap: &SnapshotName,
        target: &DatasetName,
        props: &[(&str, &str)],
    ) -> Result<Option<PathBuf>, ZfsError> {
        let mut args = vec!["clone".to_owned()];
        args.extend(property_args(props, &format!("cloning {snap}"))?);
        args.extend([snap.to_string(), target.to_string()]);
        let serial = self.mounting()?;
        self.run_zfs(args, &snap.to_string())?;
        match serial {
            Some(_) => self.await_mount(target),
            None => self.mountpoint(target),
        }
    }

    /// Runs one `zfs create` of `ds`, serialised on zfs-fuse until its mount
    /// answers.
    fn create_one(&self, args: Vec<String>, ds: &DatasetName) -> Result<(), ZfsError> {
        let serial = self.mounting()?;
        self.run_zfs(args, ds.as_str())?;
        if serial.is_some() {
            self.await_mount(ds)?;
        }
        Ok(())
    }

    /// `zfs destroy [-r] DS`.
    ///
    /// On zfs-fuse, destroying a mounted file system fails with "dataset is
    /// busy" because its FUSE unmount completes after `zfs destroy` checks
    /// (verified: a retry then succeeds, one level of children per retry).
    /// So there it runs `zfs unmount DS` (which unmounts descendants too)
    /// first, and retries a busy destroy for up to `FUSE_BUSY_PATIENCE`.
    pub fn destroy_dataset(&self, ds: &DatasetName, recursive: bool) -> Result<(), ZfsError> {
        let mut args = vec!["destroy"];
        if recursive {
            args.push("-r");
        }
        args.push(ds.as_str());
        if !matches!(self.dialect()?, Dialect::ZfsFuse) {
            return self.run_zfs(args, ds.as_str()).map(drop);
        }
        let deadline = std::time::Instant::now() + FUSE_BUSY_PATIENCE;
        let mut pause = std::time::Duration::from_millis(50);
        // The unmount can be busy too (a FUSE request still in flight).
        loop {
            match self.unmount_if_mounted(ds) {
                Err(ZfsError::Busy { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_secs(1));
                }
                other => {
                    other?;
                    break;
                }
            }
        }
        loop {
            match self.run_zfs(args.iter().copied(), ds.as_str()) {
                Err(ZfsError::Busy { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_secs(1));
                }
                other => return other.map(drop),
            }
        }
    }

    /// `zfs unmount DS` (which unmounts its descendants too); `Ok(false)` if
    /// it was not mounted.
    pub(crate) fn unmount_if_mounted(&self, ds: &DatasetName) -> Result<bool, ZfsError> {
        match self.run_zfs(["unmount", ds.as_str()], ds.as_str()) {
            Ok(_) => Ok(true),
            // verified against zfs-fuse 0.7: "cannot unmount 'X': not currently
            // mounted", "cannot unmount 'X': legacy mountpoint"
            Err(ZfsError::Command { ref stderr, .. })
                if stderr.contains("not currently mounted")
                    || stderr.contains("legacy mountpoint") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// `zfs get -Hp -o value PROP NAME` for a dataset or snapshot; `None` for `-`.
    pub fn get_property(&self, name: &str, prop: &str) -> Result<Option<String>, ZfsError> {
        if name.contains('@') {
            SnapshotName::parse(name)?;
        } else {
            DatasetName::parse(name)?;
        }
        let bad = prop.is_empty()
            || prop.starts_with('-')
            || prop.contains(|c: char| c == ',' || c.is_whitespace());
        if bad {
            return Err(ZfsError::InvalidArgument {
                argument: prop.to_owned(),
                reason: format!("not a single property name to get from {name}"),
            });
        }
        let out = self.run_zfs(["get", "-Hp", "-o", "value", prop, name], name)?;
        Ok(parse_value(&out))
    }

    /// Where `ds` is mounted now; `None` if it is not mounted or its
    /// mountpoint is `none` or `legacy`.
    pub fn mountpoint(&self, ds: &DatasetName) -> Result<Option<PathBuf>, ZfsError> {
        let args = [
            "get",
            "-Hp",
            "-o",
            "property,value",
            "mountpoint,mounted",
            ds.as_str(),
        ];
        let line = self.zfs_line(args);
        let out = self.run_zfs(args, ds.as_str())?;
        parse_mountpoint(line.display(), &out)
    }
}

/// `-o key=value` for each property, refused before anything runs if a key
/// is not a property name (`doing` says what for, in the message).
fn property_args(props: &[(&str, &str)], doing: &str) -> Result<Vec<String>, ZfsError> {
    let mut args = Vec::new();
    for (key, value) in props {
        if key.is_empty() || key.contains('=') {
            return Err(ZfsError::InvalidArgument {
                argument: format!("{key}={value}"),
                reason: format!("not a property name for {doing}"),
            });
        }
        args.push("-o".to_owned());
        args.push(format!("{key}={value}"));
    }
    Ok(args)
}

/// Parses `zfs list -H -o name` output: every line must be `root` or below it.
pub(crate) fn parse_dataset_names(
    command: &str,
    root: &DatasetName,
    out: &str,
) -> Result<Vec<DatasetName>, ZfsError> {
    let mut names = Vec::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let bad = |reason: String| ZfsError::Parse {
            command: command.to_string(),
            line: line.to_string(),
            reason,
        };
        let name = DatasetName::parse(line).map_err(|e| bad(e.to_string()))?;
        if !root.contains(&name) {
            return Err(bad(format!("{name} is not {root} or below it")));
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_parse_and_stay_below_root() {
        // $ zfs list -H -o name -t filesystem,volume -r tank/vm   (zfs-fuse 0.7)
        let out = "tank/vm\ntank/vm/a b\ntank/vm/a b/disk\n";
        let root = DatasetName::parse("tank/vm").unwrap();
        let names = parse_dataset_names("zfs list", &root, out).unwrap();
        let names: Vec<_> = names.iter().map(DatasetName::as_str).collect();
        assert_eq!(names, ["tank/vm", "tank/vm/a b", "tank/vm/a b/disk"]);
        assert!(parse_dataset_names("zfs list", &root, "tank/other\n").is_err());
    }

    #[test]
    fn a_command_the_daemon_dropped_is_recognised() {
        // zfs unmount under load, zfs-fuse 0.7 (killed by SIGABRT):
        assert!(daemon_dropped_the_command(
            "internal error: Connection reset by peer\n"
        ));
        // The daemon is not running: not retried, the error says so.
        assert!(!daemon_dropped_the_command(
            "connect: Connection refused\nPlease make sure that the zfs-fuse daemon is running.\n\
             internal error: failed to initialize ZFS library\n"
        ));
        assert!(!daemon_dropped_the_command(
            "cannot open 'p/x': dataset does not exist\n"
        ));
    }
}
