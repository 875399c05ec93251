//! Recording a snapshot's file manifest while it is shipped: open a
//! read-only view, walk it (or digest a volume's device), store the list.

use std::time::Instant;

use backup_zfs::{SnapshotName, Zfs};

use super::store_file_list;
use crate::error::Result;
use crate::filelist::{digest_device, walk_counted, WalkStats};
use crate::format::file_list::{FileList, FileListRef, VolumeDigest};
use crate::pause::pause_until_released;
use crate::repository::Repository;

/// What recording produced. Both fields `None` with a `note` when there was
/// nothing to record (a volume without a device node).
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub files: Option<FileListRef>,
    pub volume: Option<VolumeDigest>,
    pub stats: WalkStats,
    pub note: Option<String>,
    /// View clones of killed processes that opening the view removed.
    pub stale_views_removed: Vec<String>,
}

/// Opens a view of `snap`, walks it (borrowing digests from `base`, the
/// base snapshot's list, when given) and stores the list; for a volume,
/// digests its device. The view (a clone where there is no
/// `.zfs/snapshot`) is gone when this returns, whatever happened.
///
/// Test hook: with `BACKUP_TEST_PAUSE_AT=file-manifest` the process writes
/// the view's path and the clone's name (empty for `.zfs/snapshot`), one a
/// line, to `BACKUP_TEST_PAUSE_MARKER` once the view is open, and waits
/// until that file is removed.
pub(crate) fn record(
    repo: &mut Repository,
    zfs: &Zfs,
    snap: &SnapshotName,
    base: Option<&FileList>,
) -> Result<Recorded> {
    let view = zfs.open_view(snap)?;
    let mut out = Recorded {
        stale_views_removed: view
            .stale_views_removed()
            .iter()
            .map(ToString::to_string)
            .collect(),
        ..Recorded::default()
    };
    let clone = view.clone_name().map(ToString::to_string);
    pause_until_released(
        "file-manifest",
        &format!(
            "{}\n{}\n",
            view.path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            clone.unwrap_or_default()
        ),
    );
    if view.is_volume() {
        match view.path() {
            Some(dev) => out.volume = Some(digest_device(dev)?),
            None => {
                out.note = Some(format!(
                    "volume {snap}: no device node appeared for its view ({}), so no digest was recorded",
                    zfs.dialect().map_or_else(|_| "this zfs".into(), backup_zfs::Dialect::name)
                ));
            }
        }
        view.close()?;
        return Ok(out);
    }
    let root = view
        .path()
        .expect("a file system view has a path")
        .to_owned();
    let started = Instant::now();
    let (list, stats) = walk_counted(&root, base)?;
    let seconds = started.elapsed().as_secs_f64();
    let kind = view.kind();
    // The view goes before storing: the clone holds the snapshot.
    view.close()?;
    out.files = Some(store_file_list(repo, &list, kind.as_str(), seconds)?);
    out.stats = stats;
    Ok(out)
}
