//! Shipping a ZFS snapshot: choose the base, stream `zfs send` through the
//! ingest pipeline, check the stream, commit the manifest.

use std::collections::HashMap;
use std::time::Instant;

use backup_zfs::{SendArgs, Snapshot, SnapshotName, Zfs};

use crate::error::{Error, Result};
use crate::file_manifest::{load_file_list, record, Recorded};
use crate::filelist::{FileList, WalkStats};
use crate::format::manifest::{self, BaseRef, Manifest};
use crate::id::Id;
use crate::ingest::ingest;
use crate::progress::Progress;
use crate::repository::Repository;

mod links;

/// What to ship.
#[derive(Clone, Debug)]
pub struct ShipRequest {
    /// The snapshot to ship.
    pub snapshot: SnapshotName,
    /// Take the snapshot first (it must not exist yet).
    pub create: bool,
    /// Send a full stream even when a base is available.
    pub full: bool,
    /// `zfs send -w` (raw, for natively encrypted datasets; OpenZFS only).
    pub raw: bool,
    /// `zfs send -c` (compressed blocks as stored; OpenZFS only).
    pub compressed: bool,
    /// Record the snapshot's file manifest (a volume: its device digest).
    pub file_manifest: bool,
}

/// How a ship ended.
#[derive(Clone, Debug)]
pub enum ShipOutcome {
    /// The snapshot is now in the repository under this id.
    Shipped {
        /// Manifest id.
        id: Id,
        /// The manifest written.
        manifest: Box<Manifest>,
        /// Why no file manifest was recorded although one was asked for:
        /// the stream is committed all the same, but the caller must make
        /// this visible (a job run fails).
        file_manifest_error: Option<String>,
        /// Why there was nothing to record, when that is not a failure (a
        /// volume without a device node, as on zfs-fuse).
        file_manifest_note: Option<String>,
        /// What walking the snapshot cost, when a file manifest was recorded.
        file_manifest_walk: Option<WalkStats>,
        /// Why a full stream was shipped instead of an incremental: the
        /// chain the incremental would have extended cannot be restored
        /// (a damaged or missing manifest, named here). The snapshot is
        /// safe; the damage below it is not repaired, and the caller must
        /// report it as damage.
        broken_chain: Option<String>,
        /// View clones that killed processes had left (each holding its
        /// snapshot against `zfs destroy`), removed before this ship's
        /// own view was opened: the caller says so.
        stale_views_removed: Vec<String>,
    },
    /// A snapshot with the same guid was already in the repository.
    AlreadyShipped {
        /// Its manifest id.
        id: Id,
    },
}

/// Picks the base of an incremental: the newest snapshot of the dataset that
/// is older than `target` and whose guid is in the repository. Pure.
pub fn choose_base<'a>(
    source: &'a [Snapshot],
    target: &Snapshot,
    shipped: &HashMap<u64, Id>,
) -> Option<&'a Snapshot> {
    source
        .iter()
        .filter(|s| s.createtxg < target.createtxg && shipped.contains_key(&s.guid))
        .max_by_key(|s| s.createtxg)
}

/// Ships one snapshot. `shipped` maps the guid of every snapshot already in
/// the repository to its manifest id (the caller's catalog knows it).
///
/// Nothing is committed unless `zfs send` exits 0 and its stream is whole: a
/// failed ship leaves at most unreferenced packs. Those already covered by an
/// index checkpoint are reused by a later ship; the rest (at most the packs
/// since the last checkpoint) are uploaded again. Prune removes them.
pub fn ship(
    repo: &mut Repository,
    zfs: &Zfs,
    req: &ShipRequest,
    shipped: &HashMap<u64, Id>,
    progress: &dyn Progress,
) -> Result<ShipOutcome> {
    let started = Instant::now();
    if req.create {
        zfs.create_snapshots(std::slice::from_ref(&req.snapshot), false)?;
    }
    let target = zfs.snapshot_info(&req.snapshot)?;
    if let Some(id) = shipped.get(&target.guid) {
        return Ok(ShipOutcome::AlreadyShipped { id: *id });
    }
    // The newest shipped snapshot before this one: the incremental's base,
    // and for a full too the list that lends its unchanged files' digests.
    let previous = if req.full && !req.file_manifest {
        None
    } else {
        let source = zfs.list_snapshots(req.snapshot.dataset())?;
        choose_base(&source, &target, shipped).cloned()
    };
    let mut base = if req.full { None } else { previous.clone() };
    // Never extend a chain that does not restore: ship a full instead.
    let mut broken_chain = None;
    if let Some(b) = &base {
        if let Err(damage) = links::verify(repo, shipped, b.guid) {
            broken_chain = Some(format!(
                "the chain of {} is broken ({damage}); shipped a full stream of {} instead of an incremental",
                b.name, req.snapshot
            ));
            base = None;
        }
    }
    let mut args = match &base {
        Some(b) => SendArgs::incremental(b.name.clone(), req.snapshot.clone()),
        None => SendArgs::full(req.snapshot.clone()),
    };
    args.raw = req.raw;
    args.compressed = req.compressed;

    let what = req.snapshot.to_string();
    // The file manifest's walk comes first, so that its files' digests can
    // be taken from the stream as it goes by. Failing, it is reported, not
    // fatal.
    let mut file_manifest_error = None;
    let mut recording = None;
    if req.file_manifest {
        let lent = previous
            .as_ref()
            .and_then(|p| base_file_list(repo, shipped.get(&p.guid)?));
        match record::start(zfs, &req.snapshot, lent.as_ref()) {
            Ok(r) => recording = Some(r),
            Err(e) => file_manifest_error = Some(format!("file manifest of {what}: {e}")),
        }
    }
    // Only a full stream of plain blocks holds whole files.
    let mut digests = recording
        .as_ref()
        .filter(|_| base.is_none() && !args.raw && !args.compressed)
        .and_then(record::Recording::digests);
    // A total for percentage and ETA: zfs's estimate, said to be one.
    let estimate = zfs.send_estimate(&args);
    let label = match estimate {
        Some(_) => format!("send {what} (estimated size)"),
        None => format!("send {what}"),
    };
    progress.begin(&label, estimate);
    let mut stream = zfs.send(&args)?;
    let ingested = ingest(repo, &mut stream, &what, digests.as_mut(), progress);
    progress.end();
    // On a failed ingest, dropping the stream kills `zfs send`.
    let ingested = ingested?;
    stream.finish()?;
    ingested
        .check
        .verdict()
        .map_err(|reason| Error::BadStream {
            snapshot: what.clone(),
            reason,
        })?;

    // The stream is whole: from here on nothing may lose it. A file
    // manifest that cannot be recorded is reported, not fatal.
    let mut recorded = Recorded::default();
    if let Some(r) = recording {
        let from_stream = digests.map(|d| d.finish().0).unwrap_or_default();
        match r.finish(repo, &from_stream) {
            Ok(r) => recorded = r,
            Err(e) => file_manifest_error = Some(format!("file manifest of {what}: {e}")),
        }
    }

    let mut stats = ingested.stats;
    stats.seconds = started.elapsed().as_secs_f64();
    let m = Manifest {
        version: manifest::VERSION,
        dataset: req.snapshot.dataset().to_string(),
        snapshot: req.snapshot.snap().to_string(),
        guid: target.guid,
        createtxg: target.createtxg,
        creation: target.creation,
        base: base.map(|b| BaseRef {
            guid: b.guid,
            snapshot: b.name.to_string(),
        }),
        layout: manifest::LAYOUT_RECORDS.into(),
        send_flags: args.flags(),
        stream_len: ingested.check.len(),
        stream_digest: ingested.digest,
        meta_chunks: ingested.meta_chunks,
        data_chunks: ingested.data_chunks,
        stats,
        host: backup_zfs::host::hostname(),
        zfs: zfs.dialect()?.name(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        shipped_at: jiff::Timestamp::now().as_second(),
        files: recorded.files,
        volume: recorded.volume,
    };
    // Test hook: the crash tests kill the process at the commit point.
    crate::pause::pause_point("ship:commit");
    let id = repo.write_manifest(&m)?;
    let file_manifest_walk = m.files.is_some().then_some(recorded.stats);
    Ok(ShipOutcome::Shipped {
        id,
        manifest: Box::new(m),
        file_manifest_error,
        file_manifest_note: recorded.note,
        file_manifest_walk,
        broken_chain,
        stale_views_removed: recorded.stale_views_removed,
    })
}

/// The file list of an already shipped snapshot, to borrow digests from;
/// `None` if it has none or it cannot be read (every file is then read:
/// slower, never wrong; `check` reports the damage).
fn base_file_list(repo: &Repository, id: &Id) -> Option<FileList> {
    let m = repo.read_manifest(id).ok()?;
    let mut list = load_file_list(repo, m.files.as_ref()?, &m.full_name()).ok()?;
    crate::filelist::forget_racy_digests(&mut list, m.creation);
    Some(list)
}

/// Ships a stream that does not come from `zfs send` of a live snapshot
/// (tests, imports): the caller gives the snapshot's identity.
pub fn ship_stream<R: std::io::Read + Send>(
    repo: &mut Repository,
    reader: R,
    mut m: Manifest,
    progress: &dyn Progress,
) -> Result<Id> {
    let name = m.full_name();
    let ingested = ingest(repo, reader, &name, None, progress)?;
    ingested
        .check
        .verdict()
        .map_err(|reason| Error::BadStream {
            snapshot: name,
            reason,
        })?;
    m.stream_len = ingested.check.len();
    m.stream_digest = ingested.digest;
    m.meta_chunks = ingested.meta_chunks;
    m.data_chunks = ingested.data_chunks;
    m.stats = ingested.stats;
    repo.write_manifest(&m)
}

#[cfg(test)]
mod tests;
