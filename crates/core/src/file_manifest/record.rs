//! Recording a snapshot's file manifest while it is shipped: open a
//! read-only view and walk it before the stream is read, take the files'
//! digests from the stream (or read them, or a volume's device, from the
//! view), store the list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use backup_zfs::{SnapshotName, SnapshotView, Zfs};

use super::store_file_list;
use crate::error::Result;
use crate::filelist::{
    digest_device, fill_digests, walk_metadata, wanted_objects, StreamDigests, WalkStats,
    VOLUME_OBJECT,
};
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

/// A file manifest being recorded around a ship ([`start`], then
/// [`Recording::finish`]): the snapshot's view is open and its tree walked
/// (metadata, and the digests the base lends) before the stream is read;
/// the files still without a digest take theirs from the stream
/// ([`Recording::digests`]), or are read from the view after it.
pub(crate) struct Recording {
    view: SnapshotView,
    out: Recorded,
    /// A file system's walk, its digests not all filled yet.
    list: Option<FileList>,
    /// A volume's device, and its size.
    device: Option<(PathBuf, u64)>,
    seconds: f64,
}

/// Opens a view of `snap` and walks it, borrowing digests from `base` (the
/// list of an earlier snapshot of the same dataset, when given); a
/// volume's view is only opened. The view (a clone where there is no
/// `.zfs/snapshot`) is gone once the recording is finished or dropped.
///
/// Test hook: with `BACKUP_TEST_PAUSE_AT=file-manifest` the process writes
/// the view's path and the clone's name (empty for `.zfs/snapshot`), one a
/// line, to `BACKUP_TEST_PAUSE_MARKER` once the view is open (before the
/// walk and the stream), and waits until that file is removed.
pub(crate) fn start(zfs: &Zfs, snap: &SnapshotName, base: Option<&FileList>) -> Result<Recording> {
    let view = zfs.open_view(snap)?;
    pause_until_released(
        "file-manifest",
        &format!(
            "{}\n{}\n",
            view.path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            view.clone_name()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
    );
    let mut rec = Recording {
        out: Recorded {
            stale_views_removed: view
                .stale_views_removed()
                .iter()
                .map(ToString::to_string)
                .collect(),
            ..Recorded::default()
        },
        list: None,
        device: None,
        seconds: 0.0,
        view,
    };
    if rec.view.is_volume() {
        match rec.view.path() {
            Some(dev) => rec.device = Some((dev.to_owned(), device_size(dev)?)),
            None => {
                rec.out.note = Some(format!(
                    "volume {snap}: no device node appeared for its view ({}), so no digest was recorded",
                    zfs.dialect().map_or_else(|_| "this zfs".into(), backup_zfs::Dialect::name)
                ));
            }
        }
        return Ok(rec);
    }
    let root = rec.root();
    let started = Instant::now();
    let (list, stats) = walk_metadata(&root, base)?;
    rec.seconds = started.elapsed().as_secs_f64();
    rec.list = Some(list);
    rec.out.stats = stats;
    Ok(rec)
}

impl Recording {
    fn root(&self) -> PathBuf {
        self.view
            .path()
            .expect("a file system view has a path")
            .to_owned()
    }

    /// What to take from the stream: the files without a digest, or the
    /// volume. `None` when nothing is wanted.
    pub(crate) fn digests(&self) -> Option<StreamDigests> {
        if let Some((_, size)) = &self.device {
            return Some(StreamDigests::for_volume(*size));
        }
        let want = self.list.as_ref().map(wanted_objects).unwrap_or_default();
        (!want.is_empty()).then(|| StreamDigests::for_files(want))
    }

    /// Completes the list with `from_stream` (the stream's digests, by
    /// object number), reads the files still without one, closes the view
    /// and stores the list (or takes the volume's digest).
    pub(crate) fn finish(
        mut self,
        repo: &mut Repository,
        from_stream: &HashMap<u64, [u8; 32]>,
    ) -> Result<Recorded> {
        if let Some((dev, size)) = &self.device {
            self.out.volume = Some(match from_stream.get(&VOLUME_OBJECT) {
                Some(d) => VolumeDigest {
                    blake3: hex::encode(d),
                    size: *size,
                },
                None => digest_device(dev)?,
            });
            self.view.close()?;
            return Ok(self.out);
        }
        let Some(mut list) = self.list.take() else {
            self.view.close()?;
            return Ok(self.out);
        };
        let started = Instant::now();
        fill_digests(&self.root(), &mut list, from_stream, &mut self.out.stats)?;
        let seconds = self.seconds + started.elapsed().as_secs_f64();
        let kind = self.view.kind();
        // The view goes before storing: the clone holds the snapshot.
        self.view.close()?;
        self.out.files = Some(store_file_list(repo, &list, kind.as_str(), seconds)?);
        Ok(self.out)
    }
}

/// The size of a device (or file): where its end is.
fn device_size(dev: &Path) -> Result<u64> {
    use std::io::{Seek, SeekFrom};
    std::fs::File::open(dev)
        .and_then(|mut f| f.seek(SeekFrom::End(0)))
        .map_err(|e| crate::error::Error::io(format!("reading the size of {}", dev.display()), e))
}
