//! A read-only view of a snapshot's contents, for walking it.
//!
//! - Where the dialect has `.zfs/snapshot` ([`Features::snapshot_dir`]) and
//!   the file system is mounted: `<mountpoint>/.zfs/snapshot/<snap>`.
//! - Otherwise (zfs-fuse, an unmounted file system, a volume): a clone,
//!   `zfs clone -o readonly=on -o mountpoint=<private temp dir> -o
//!   backup:view=<host>:<pid>:<start> SNAP <pool>/backup-view-<pid>-<n>-<t>`,
//!   destroyed with its directory when the view is dropped. A volume's
//!   clone has no mountpoint; its device is `/dev/zvol/<clone>` where the
//!   dialect makes device nodes ([`Features::volume_devices`]).
//!
//! A clone left by a process that was killed is recognisable by its name
//! (a child of the pool's root starting with `backup-view-`) and its
//! `backup:view` property (this host, a process that is gone);
//! [`Zfs::remove_stale_views`] destroys such clones, and every
//! [`Zfs::open_view`] calls it first and says what it removed
//! ([`SnapshotView::stale_views_removed`]). While a clone exists, its origin
//! snapshot cannot be destroyed; `backup unlock` removes them at once.
//!
//! [`Features::snapshot_dir`]: crate::Features
//! [`Features::volume_devices`]: crate::Features

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::ZfsError;
use crate::host::{hostname, process_start};
use crate::name::{DatasetName, SnapshotName};
use crate::zfs::Zfs;

/// The user property that marks a view clone: `<host>:<pid>:<start>`, the
/// process that made it (`start` from `/proc/<pid>/stat`, against pid reuse).
pub const VIEW_PROPERTY: &str = "backup:view";
/// Name prefix of view clones (children of the pool's root) and of their
/// mountpoint directories (in the temporary directory).
pub const VIEW_PREFIX: &str = "backup-view-";
/// How long a volume clone's device node may take to appear.
const DEVICE_WAIT: Duration = Duration::from_secs(10);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How the snapshot is seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewKind {
    /// `<mountpoint>/.zfs/snapshot/<snap>`.
    SnapshotDir,
    /// A temporary read-only clone.
    Clone,
}

impl ViewKind {
    /// `"snapdir"` or `"clone"`, as recorded in file manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewKind::SnapshotDir => "snapdir",
            ViewKind::Clone => "clone",
        }
    }
}

/// A view clone that a dead process left behind, as removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleView {
    /// The clone destroyed.
    pub clone: DatasetName,
    /// The snapshot it was a view of (it held that snapshot).
    pub origin: String,
}

impl std::fmt::Display for StaleView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "view clone {} of {}, left by a backup process that was killed",
            self.clone, self.origin
        )
    }
}

/// A read-only view of a snapshot; a clone is destroyed on drop.
#[derive(Debug)]
pub struct SnapshotView {
    zfs: Zfs,
    snapshot: SnapshotName,
    kind: ViewKind,
    volume: bool,
    path: Option<PathBuf>,
    clone: Option<DatasetName>,
    mount_dir: Option<PathBuf>,
    stale_removed: Vec<StaleView>,
}

impl SnapshotView {
    /// The snapshot seen.
    pub fn snapshot(&self) -> &SnapshotName {
        &self.snapshot
    }

    /// How it is seen.
    pub fn kind(&self) -> ViewKind {
        self.kind
    }

    /// True if the snapshot is of a volume.
    pub fn is_volume(&self) -> bool {
        self.volume
    }

    /// A file system: the directory to walk. A volume: its device node, or
    /// `None` where none appeared (zfs-fuse, `volmode=none`).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The clone's name, for a clone view.
    pub fn clone_name(&self) -> Option<&DatasetName> {
        self.clone.as_ref()
    }

    /// The stale view clones of dead processes that opening this view
    /// removed first (module docs), for the caller to report.
    pub fn stale_views_removed(&self) -> &[StaleView] {
        &self.stale_removed
    }

    /// Destroys the clone and its directory now, reporting failure (drop
    /// does the same and ignores it).
    pub fn close(mut self) -> Result<(), ZfsError> {
        self.cleanup()
    }

    fn cleanup(&mut self) -> Result<(), ZfsError> {
        if let Some(clone) = self.clone.take() {
            self.zfs.destroy_dataset(&clone, false)?;
        }
        if let Some(dir) = self.mount_dir.take() {
            std::fs::remove_dir(&dir).map_err(|e| ZfsError::LocalIo {
                what: format!("remove the view directory {}", dir.display()),
                source: e,
            })?;
        }
        Ok(())
    }
}

impl Drop for SnapshotView {
    fn drop(&mut self) {
        let _ = self.cleanup();
    }
}

impl Zfs {
    /// Opens a read-only view of `snap` (module docs), after removing stale
    /// view clones of this host's dead processes from its pool.
    pub fn open_view(&self, snap: &SnapshotName) -> Result<SnapshotView, ZfsError> {
        let ds = snap.dataset();
        let stale_removed = self.remove_stale_views(ds.pool())?;
        let volume = self.get_property(ds.as_str(), "type")?.as_deref() == Some("volume");
        if !volume && self.features()?.snapshot_dir {
            if let Some(mp) = self.mountpoint(ds)? {
                let path = mp.join(".zfs").join("snapshot").join(snap.snap());
                // Reading the directory mounts the snapshot (automount).
                if std::fs::read_dir(&path).is_ok() {
                    return Ok(SnapshotView {
                        zfs: self.clone(),
                        snapshot: snap.clone(),
                        kind: ViewKind::SnapshotDir,
                        volume,
                        path: Some(path),
                        clone: None,
                        mount_dir: None,
                        stale_removed,
                    });
                }
            }
        }
        let mut view = self.clone_view(snap, volume)?;
        view.stale_removed = stale_removed;
        Ok(view)
    }

    fn clone_view(&self, snap: &SnapshotName, volume: bool) -> Result<SnapshotView, ZfsError> {
        let unique = format!(
            "{VIEW_PREFIX}{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let pool = DatasetName::parse(snap.dataset().pool())?;
        let clone = pool.child(&unique)?;
        let marker = format!("{VIEW_PROPERTY}={}", own_marker());
        let mut view = SnapshotView {
            zfs: self.clone(),
            snapshot: snap.clone(),
            kind: ViewKind::Clone,
            volume,
            path: None,
            clone: None,
            mount_dir: None,
            stale_removed: Vec::new(),
        };
        let mut args = vec!["clone", "-o", "readonly=on", "-o", marker.as_str()];
        let mountpoint;
        if !volume {
            let dir = std::env::temp_dir().join(&unique);
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| ZfsError::LocalIo {
                    what: format!("create the view directory {}", dir.display()),
                    source: e,
                })?;
            mountpoint = format!("mountpoint={}", dir.display());
            view.mount_dir = Some(dir);
            args.extend(["-o", mountpoint.as_str()]);
        }
        let snap_name = snap.to_string();
        args.extend([snap_name.as_str(), clone.as_str()]);
        let serial = self.mounting()?;
        let made = self.run_zfs(args, &snap_name);
        // "filesystem successfully created, but not mounted" still made it.
        if made.is_ok() || self.dataset_exists(&clone)? {
            view.clone = Some(clone.clone());
        }
        made?;
        if volume {
            drop(serial);
            view.path = self.volume_device(&clone)?;
            return Ok(view);
        }
        let dir = view
            .mount_dir
            .clone()
            .expect("a file system view has a directory");
        if self.mountpoint(&clone)?.as_deref() != Some(dir.as_path()) {
            return Err(ZfsError::InvalidArgument {
                argument: clone.to_string(),
                reason: format!(
                    "the view clone of {snap} is not mounted at {}",
                    dir.display()
                ),
            });
        }
        // Wait for the new mount to answer before anyone else mounts.
        self.await_answer(&clone, &dir)?;
        drop(serial);
        view.path = Some(dir);
        Ok(view)
    }

    /// Destroys the view clones in `pool` that a process of this host left
    /// behind when it died (module docs), with their empty mountpoint
    /// directories. Returns the clones destroyed.
    pub fn remove_stale_views(&self, pool: &str) -> Result<Vec<StaleView>, ZfsError> {
        let root = DatasetName::parse(pool)?;
        let prop = format!("name,{VIEW_PROPERTY},mountpoint,origin");
        let args = [
            "list",
            "-H",
            "-o",
            prop.as_str(),
            "-t",
            "filesystem,volume",
            "-d",
            "1",
            root.as_str(),
        ];
        let out = self.run_zfs(args, root.as_str())?;
        let host = hostname();
        let mut removed = Vec::new();
        for (name, marker, mountpoint, origin) in parse_view_list(&out) {
            if !is_stale(&marker, &host, process_start) {
                continue;
            }
            let Ok(ds) = DatasetName::parse(&name) else {
                continue;
            };
            if self.destroy_dataset(&ds, false).is_err() {
                // Another process may be removing it too (its unmount
                // makes ours fail): once more, then it is gone or an error.
                std::thread::sleep(Duration::from_millis(500));
                if self.dataset_exists(&ds)? {
                    self.destroy_dataset(&ds, false)?;
                } else {
                    continue;
                }
            }
            let dir = Path::new(&mountpoint);
            let ours = dir.parent() == Some(std::env::temp_dir().as_path())
                && dir
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(VIEW_PREFIX));
            if ours {
                let _ = std::fs::remove_dir(dir);
            }
            removed.push(StaleView { clone: ds, origin });
        }
        Ok(removed)
    }
}

/// True if `ds` is a view clone by its name (a child of a pool's root
/// named `backup-view-…`): jobs never ship one.
pub fn is_view_clone(ds: &DatasetName) -> bool {
    let s = ds.as_str();
    s.split('/').count() == 2
        && s.rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with(VIEW_PREFIX))
}

/// One line of [`parse_view_list`]: name, marker, mountpoint, origin.
type ViewLine = (String, String, String, String);

/// The view clones in `zfs list -H -o name,backup:view,mountpoint,origin
/// -d 1` output: (name, marker, mountpoint, origin) of children named
/// `backup-view-…` whose marker is set.
pub(crate) fn parse_view_list(out: &str) -> Vec<ViewLine> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, marker, mp) = (f.next()?, f.next()?, f.next()?);
            let origin = f.next().unwrap_or("-");
            let ds = DatasetName::parse(name).ok()?;
            (is_view_clone(&ds) && marker != "-").then(|| {
                (
                    name.to_owned(),
                    marker.to_owned(),
                    mp.to_owned(),
                    origin.to_owned(),
                )
            })
        })
        .collect()
}

/// True if `marker` names a process of `host` that is gone: `start_of(pid)`
/// is `None` (no such process) or another start time (pid reused). A marker
/// of another host, or one that does not parse, is never stale: it is not
/// ours to judge.
pub(crate) fn is_stale(marker: &str, host: &str, start_of: impl Fn(u32) -> Option<u64>) -> bool {
    let mut f = marker.rsplitn(3, ':');
    let (Some(start), Some(pid), Some(h)) = (f.next(), f.next(), f.next()) else {
        return false;
    };
    let (Ok(start), Ok(pid)) = (start.parse::<u64>(), pid.parse::<u32>()) else {
        return false;
    };
    h == host && start_of(pid) != Some(start)
}

/// This process's marker: `<host>:<pid>:<start>`.
fn own_marker() -> String {
    let pid = std::process::id();
    format!("{}:{pid}:{}", hostname(), process_start(pid).unwrap_or(0))
}

impl Zfs {
    /// The device node of volume `ds` (`/dev/zvol/<ds>`), waiting up to
    /// `DEVICE_WAIT` for udev to make it; `None` where the dialect has no
    /// volume devices or none appeared.
    pub fn volume_device(&self, ds: &DatasetName) -> Result<Option<PathBuf>, ZfsError> {
        if !self.features()?.volume_devices {
            return Ok(None);
        }
        let dev = Path::new("/dev/zvol").join(ds.as_str());
        let deadline = Instant::now() + DEVICE_WAIT;
        while !dev.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(dev.exists().then_some(dev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_clones_are_found_by_name_and_marker() {
        // $ zfs list -H -o name,backup:view,mountpoint,origin -t filesystem,volume -d 1 fltestp   (zfs-fuse 0.7)
        let out = "fltestp\t-\t/tmp/fltest/mnt\t-\n\
                   fltestp/backup-view-1\th:1:2\t/tmp/backup-view-1\tfltestp/ds@s1\n\
                   fltestp/ds\t-\t/tmp/fltest/mnt/ds\t-\n\
                   fltestp/backup-view-unmarked\t-\t/x\tfltestp/ds@s1\n";
        assert_eq!(
            parse_view_list(out),
            [(
                "fltestp/backup-view-1".to_owned(),
                "h:1:2".to_owned(),
                "/tmp/backup-view-1".to_owned(),
                "fltestp/ds@s1".to_owned()
            )]
        );
        assert!(is_view_clone(&"p/backup-view-9".parse().unwrap()));
        assert!(!is_view_clone(&"p/d/backup-view-9".parse().unwrap()));
        assert!(!is_view_clone(&"p/data".parse().unwrap()));
    }

    #[test]
    fn only_dead_processes_of_this_host_are_stale() {
        let alive = |pid: u32| (pid == 10).then_some(500);
        assert!(!is_stale("web1:10:500", "web1", alive));
        assert!(is_stale("web1:10:499", "web1", alive), "pid reused");
        assert!(is_stale("web1:11:500", "web1", alive), "gone");
        assert!(!is_stale("web2:11:500", "web1", alive), "another host");
        assert!(is_stale("a:b:11:1", "a:b", alive), "host with a colon");
        assert!(!is_stale("garbage", "web1", alive));
        assert!(!is_stale("web1:x:1", "web1", alive));
    }
}
