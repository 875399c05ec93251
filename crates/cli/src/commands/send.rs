//! `backup send`.

use std::collections::HashMap;

use anyhow::Result;
use backup_core::{ship, ShipOutcome, ShipRequest};
use backup_zfs::{DatasetName, SnapshotName, Zfs};

use crate::cli::{GlobalArgs, SendArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::{bytes, rate};
use crate::progress::CliProgress;

pub fn run(g: &GlobalArgs, a: &SendArgs) -> Result<ExitStatus> {
    let usage = |e: backup_zfs::NameError| UsageError(e.to_string());
    let (given, new_in) = if a.target.contains('@') {
        (Some(SnapshotName::parse(&a.target).map_err(usage)?), None)
    } else {
        (None, Some(DatasetName::parse(&a.target).map_err(usage)?))
    };
    // Unlock first: a wrong passphrase must not leave a new snapshot behind.
    let mut repo = context::open_repo(g)?;
    let lock = context::lock(g, &repo, backup_core::LockKind::Shared, "ship")?;
    let zfs = Zfs::new();
    let (snapshot, create) = match (given, new_in) {
        (Some(s), _) => (s, false),
        (None, Some(ds)) => (new_snapshot(&zfs, ds, &a.prefix)?, true),
        (None, None) => unreachable!("a target is a snapshot or a dataset"),
    };
    if let Some(note) = backup_core::resume(&mut repo, &lock)?.and_then(|a| a.describe()) {
        eprintln!("{note}");
    }
    let cat = context::synced_catalog(g, &repo)?;
    let shipped: HashMap<_, _> = cat
        .snapshots()?
        .into_iter()
        .map(|e| (e.manifest.guid, e.id))
        .collect();
    let req = ShipRequest {
        snapshot,
        create,
        full: a.full,
        raw: a.raw,
        compressed: a.compressed,
        file_manifest: !a.no_file_manifest,
    };
    let progress = CliProgress::new(g.quiet);
    let outcome = ship(&mut repo, &zfs, &req, &shipped, &progress)?;
    match outcome {
        ShipOutcome::AlreadyShipped { id } => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"snapshot": req.snapshot.to_string(), "id": id.to_hex(), "already_shipped": true})
                );
            } else {
                println!(
                    "{} is already in the repository as {}",
                    req.snapshot,
                    id.short()
                );
            }
        }
        ShipOutcome::Shipped {
            id,
            manifest: m,
            file_manifest_error,
            file_manifest_note,
            file_manifest_walk,
            broken_chain,
            stale_views_removed,
        } => {
            for v in &stale_views_removed {
                eprintln!("backup: note: removed {v}");
            }
            // The stream is committed either way; say what is missing.
            if let Some(d) = &broken_chain {
                crate::journal::error!("backup: error: {d}; the repository is damaged: run `backup check` and see what it names");
            }
            if let Some(e) = &file_manifest_error {
                crate::journal::warning!("backup: warning: {e}; the snapshot was shipped without a file manifest, so a restore drill cannot compare its files");
            }
            if let Some(n) = &file_manifest_note {
                eprintln!("backup: note: {n}");
            }
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "snapshot": m.full_name(), "id": id.to_hex(), "already_shipped": false,
                        "guid": m.guid.to_string(),
                        "base_guid": m.base.as_ref().map(|b| b.guid.to_string()),
                        "base_snapshot": m.base.as_ref().map(|b| b.snapshot.clone()),
                        "stream_len": m.stream_len, "chunks": m.stats.chunks, "new_chunks": m.stats.new_chunks,
                        "new_stored_bytes": m.stats.new_stored_bytes, "seconds": m.stats.seconds,
                        "file_manifest": m.files.as_ref().map(|f| serde_json::json!({
                            "entries": f.entries, "bytes": f.bytes, "view": f.view,
                            "chunks": f.chunks.len(), "seconds": f.seconds,
                            "files_read": file_manifest_walk.map(|w| w.files_read),
                            "files_reused": file_manifest_walk.map(|w| w.files_reused),
                            "files_from_stream": file_manifest_walk.map(|w| w.files_from_stream),
                            "bytes_read": file_manifest_walk.map(|w| w.bytes_read),
                        })),
                        "volume_digest": m.volume.as_ref().map(|v| v.blake3.clone()),
                        "file_manifest_error": file_manifest_error,
                        "file_manifest_note": file_manifest_note,
                        "broken_chain": broken_chain,
                        "stale_views_removed": stale_views_removed,
                    })
                );
            } else {
                let kind = match &m.base {
                    Some(b) => format!("incremental from {}", b.snapshot),
                    None => "full".to_string(),
                };
                println!(
                    "shipped {} ({kind}) as {}: stream {}, {} new of {} chunks, {} stored, {}",
                    m.full_name(),
                    id.short(),
                    bytes(m.stream_len),
                    m.stats.new_chunks,
                    m.stats.chunks,
                    bytes(m.stats.new_stored_bytes),
                    rate(m.stream_len, m.stats.seconds),
                );
                if let Some(f) = &m.files {
                    let digests = file_manifest_walk.map_or_else(String::new, |w| {
                        format!(
                            "; digests: {} from the stream, {} unchanged, {} read ({})",
                            w.files_from_stream,
                            w.files_reused,
                            w.files_read,
                            bytes(w.bytes_read)
                        )
                    });
                    println!(
                        "  file manifest: {} entries, {} in files, walked in {:.1}s ({}){digests}",
                        f.entries,
                        bytes(f.bytes),
                        f.seconds,
                        f.view
                    );
                }
            }
            if broken_chain.is_some() {
                // Shipped, but onto a damaged repository: not a success.
                return Ok(ExitStatus::Damaged);
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// `<prefix>-<UTC time>` of `ds`, with a counter when a snapshot of that
/// name exists already (two sends within one second).
fn new_snapshot(zfs: &Zfs, ds: DatasetName, prefix: &str) -> Result<SnapshotName> {
    let taken: Vec<String> = zfs
        .list_snapshots(&ds)?
        .into_iter()
        .map(|s| s.name.snap().to_string())
        .collect();
    let now = jiff::Timestamp::now();
    let name = backup_ops::job::unique_snapshot_name(prefix, now, |n| taken.iter().any(|t| t == n))
        .ok_or_else(|| {
            UsageError(format!(
                "{} snapshots of {ds} named {prefix}-<time> within one second already exist",
                backup_ops::job::MAX_PER_SECOND
            ))
        })?;
    Ok(SnapshotName::new(ds, &name).map_err(|e| UsageError(e.to_string()))?)
}
