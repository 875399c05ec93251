//! `restore --path`: files and subtrees of one snapshot back into a
//! directory, without receiving the dataset when the streams allow.
//!
//! ```text
//! select (file manifest) -> stage dir in DIR -> fast path per file (core extract)
//!   -> slow path for the rest (scratch receive, copy) -> links, metadata -> move into DIR
//! ```
//! Every regular file is checked against the manifest's BLAKE3 before it is
//! moved into place. Anything that fails leaves DIR as it was: the stage
//! directory (`DIR/.backup-restore-<pid>-<hex>`) is removed, and one left
//! by a killed restore is removed by the next restore into the same DIR.
//! docs/design.md §17.9.

mod fast;
mod meta;
mod place;
mod select;
mod slow;

pub use select::concerns;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Instant;

use backup_core::filelist::{Entry, FileList, Kind};
use backup_core::{Id, Manifest, Progress, Repository};
use backup_zfs::Zfs;
use serde::Serialize;

use crate::error::{Error, Result};

/// Which way files' contents are fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The fast path where it applies, else the slow path.
    Auto,
    /// Always the slow path (a scratch receive).
    Slow,
    /// Only the fast path: a file it cannot rebuild is an error.
    Fast,
}

/// What to restore.
#[derive(Debug)]
pub struct PathRequest {
    /// Paths as `ls` shows them, relative to the dataset's root (a leading
    /// `/` is allowed; `/` alone is the whole tree).
    pub paths: Vec<Vec<u8>>,
    /// The directory to restore into; made if missing.
    pub into: PathBuf,
    /// Replace files, symlinks and other non-directories that exist.
    pub overwrite: bool,
    /// How contents are fetched.
    pub method: Method,
    /// Where the slow path's scratch pool and its lock live.
    pub work_dir: PathBuf,
}

/// How one path came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// Rebuilt from the data-lane chunks that hold it.
    Fast,
    /// Copied out of a scratch receive of the chain.
    Slow,
    /// A hard link to another restored file.
    Link,
    /// Made from the file manifest alone (directories, symlinks, empty
    /// files, special files).
    Manifest,
}

/// One restored path.
#[derive(Clone, Debug, Serialize)]
pub struct RestoredPath {
    /// The path, as `ls` shows it.
    pub path: String,
    /// Its kind.
    pub kind: Kind,
    /// Its size.
    pub size: u64,
    /// How it came back.
    pub how: How,
    /// Why the fast path was not used, for a slow-path file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_slow: Option<String>,
}

/// What a restore did.
#[derive(Clone, Debug, Serialize)]
pub struct Restored {
    /// The snapshot.
    pub snapshot: String,
    /// The directory restored into.
    pub into: String,
    /// Every path restored, in path order.
    pub paths: Vec<RestoredPath>,
    /// Stored bytes fetched for the chain's meta lanes.
    pub meta_fetched: u64,
    /// Stored bytes fetched for file contents by the fast path.
    pub data_fetched: u64,
    /// Stream bytes received by the slow path (0 if it did not run).
    pub slow_stream_bytes: u64,
    /// Whether owners were restored (only as root).
    pub owners: bool,
    /// Special files (sockets, devices without root) not made, with why.
    pub skipped: Vec<String>,
    /// Seconds the restore took.
    pub seconds: f64,
}

impl Restored {
    /// How many paths came back `how`.
    pub fn count(&self, how: How) -> usize {
        self.paths.iter().filter(|p| p.how == how).count()
    }
}

/// Restores `req.paths` of the last snapshot of `chain` (full first, as
/// `read_chain` returns it) into `req.into`. `list` is that snapshot's
/// file manifest, or as much of it as [`concerns`] `req.paths`. `zfs` is needed only by the slow path.
pub fn restore_paths(
    repo: &Repository,
    chain: &[(Id, Manifest)],
    list: &FileList,
    req: &PathRequest,
    zfs: &Zfs,
    progress: &dyn Progress,
) -> Result<Restored> {
    let started = Instant::now();
    let last = &chain.last().expect("a chain has a stream").1;
    let snapshot = last.full_name();
    let sel = select::select(list, &req.paths, &snapshot)?;
    std::fs::create_dir_all(&req.into)
        .map_err(|e| Error::io(format!("creating {}", req.into.display()), e))?;
    place::remove_stale_stages(&req.into);
    select::check_targets(&sel, &req.into, req.overwrite)?;
    let stage = place::Stage::create(&req.into)?;
    let mut out = Restored {
        snapshot,
        into: req.into.display().to_string(),
        paths: Vec::new(),
        meta_fetched: 0,
        data_fetched: 0,
        slow_stream_bytes: 0,
        owners: meta::can_chown(),
        skipped: Vec::new(),
        seconds: 0.0,
    };
    build(repo, chain, &sel, req, zfs, &stage, &mut out, progress)?;
    place::move_into(&stage, &sel, &req.into, &mut out)?;
    stage.remove();
    out.paths.sort_by(|a, b| a.path.cmp(&b.path));
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// Makes every selected path in the stage directory.
#[allow(clippy::too_many_arguments)]
fn build(
    repo: &Repository,
    chain: &[(Id, Manifest)],
    sel: &select::Selection<'_>,
    req: &PathRequest,
    zfs: &Zfs,
    stage: &place::Stage,
    out: &mut Restored,
    progress: &dyn Progress,
) -> Result<()> {
    for e in sel.ancestors.iter().chain(&sel.entries) {
        if e.kind == Kind::Dir {
            stage.make_dir(e)?;
        }
    }
    let files = sel.first_of_each_inode();
    let slow = fast::restore(repo, chain, &files, req.method, stage, out)?;
    if !slow.is_empty() {
        out.slow_stream_bytes =
            slow::restore(repo, zfs, chain, &slow, &req.work_dir, stage, progress)?;
        for (e, why) in slow {
            out.paths.push(restored(e, How::Slow, Some(why)));
        }
    }
    for e in &sel.entries {
        match e.kind {
            Kind::Dir => out.paths.push(restored(e, How::Manifest, None)),
            Kind::File => {
                if let Some(first) = sel.linked_to(e) {
                    stage.hard_link(first, e)?;
                    out.paths.push(restored(e, How::Link, None));
                }
            }
            _ => match stage.make_special(e)? {
                None => out.paths.push(restored(e, How::Manifest, None)),
                Some(why) => out.skipped.push(format!("{}: {why}", e.display_path())),
            },
        }
    }
    for e in sel.entries.iter().chain(&sel.ancestors) {
        meta::apply(&stage.path_of(e), e, out.owners)?;
    }
    Ok(())
}

fn restored(e: &Entry, how: How, why_slow: Option<String>) -> RestoredPath {
    RestoredPath {
        path: e.display_path(),
        kind: e.kind,
        size: e.size,
        how,
        why_slow,
    }
}

/// The path of `e` below `root`.
fn below(root: &Path, e: &Entry) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    if e.path.is_empty() {
        root.to_path_buf()
    } else {
        root.join(std::ffi::OsStr::from_bytes(&e.path))
    }
}
