//! `backup list`.

use std::collections::HashMap;

use anyhow::Result;
use backup_core::Id;
use backup_ops::CatalogEntry;

use crate::cli::{GlobalArgs, ListArgs};
use crate::context;
use crate::exit::ExitStatus;
use crate::format::{bytes, rfc3339, time};

pub fn run(g: &GlobalArgs, a: &ListArgs) -> Result<ExitStatus> {
    let repo = context::open_repo(g)?;
    let cat = context::synced_catalog(g, &repo)?;
    let mut entries = cat.snapshots()?;
    if let Some(ds) = &a.dataset {
        entries.retain(|e| &e.manifest.dataset == ds);
    }
    // The catalog may have cached a manifest that is damaged (or gone)
    // in the repository since: read each again, and say so.
    let ids: Vec<Id> = entries.iter().map(|e| e.id).collect();
    let damaged: HashMap<Id, String> = repo
        .unreadable_manifests(&ids)?
        .into_iter()
        .map(|(id, e)| (id, e.to_string()))
        .collect();
    for (id, e) in &damaged {
        crate::journal::warning!(
            "backup: warning: snapshot {} is in the catalog but cannot be read from the repository: {e}; run `backup check`",
            id.short()
        );
    }
    let status = if damaged.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Damaged
    };
    if a.json {
        let v: Vec<_> = entries
            .iter()
            .map(|e| json_entry(e, damaged.get(&e.id)))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(status);
    }
    let short_of = |guid: u64| {
        entries
            .iter()
            .find(|e| e.manifest.guid == guid)
            .map_or_else(|| "?".to_string(), |e| e.id.short())
    };
    let mut dataset = None;
    for e in &entries {
        let m = &e.manifest;
        if dataset != Some(&m.dataset) {
            dataset = Some(&m.dataset);
            println!("{}", m.dataset);
            println!(
                "  {:<8}  {:<32}  {:<19}  {:<21}  {:>10}  {:>10}",
                "ID", "SNAPSHOT", "KIND", "CREATED", "STREAM", "NEW STORED"
            );
        }
        let kind = match &m.base {
            Some(b) => format!("incr from {}", short_of(b.guid)),
            None => "full".into(),
        };
        println!(
            "  {:<8}  {:<32}  {:<19}  {:<21}  {:>10}  {:>10}",
            e.id.short(),
            m.snapshot,
            kind,
            time(m.creation),
            bytes(m.stream_len),
            bytes(m.stats.new_stored_bytes)
        );
        if let Some(e) = damaged.get(&e.id) {
            println!("            DAMAGED: {e}");
        }
    }
    let streams: u64 = entries.iter().map(|e| e.manifest.stream_len).sum();
    let (stored, of) = match &a.dataset {
        // The whole repository: every snapshot against every pack.
        None => (repo.pack_usage()?.bytes, "packs"),
        // Some snapshots: against the chunks they reference, not the
        // packs of every dataset (which gave 0.02x).
        Some(_) => (repo.stored_bytes_of(&ids)?, "their chunks"),
    };
    println!("{}", summary(entries.len(), streams, stored, of));
    Ok(status)
}

/// The last line: "2 snapshot(s): 10.0 MiB of streams in 5.0 MiB of packs
/// (deduplication and compression 2.00x)"; `of` says what was measured.
fn summary(snapshots: usize, streams: u64, stored: u64, of: &str) -> String {
    let ratio = match stored {
        0 => String::new(),
        s => format!(
            " (deduplication and compression {:.2}x)",
            streams as f64 / s as f64
        ),
    };
    format!(
        "{snapshots} snapshot(s): {} of streams in {} of {of}{ratio}",
        bytes(streams),
        bytes(stored)
    )
}

fn json_entry(e: &CatalogEntry, damaged: Option<&String>) -> serde_json::Value {
    let m = &e.manifest;
    serde_json::json!({
        "id": e.id.to_hex(),
        "dataset": m.dataset,
        "snapshot": m.snapshot,
        "name": m.full_name(),
        "guid": m.guid.to_string(),
        "createtxg": m.createtxg,
        "creation": rfc3339(m.creation),
        "creation_unix": m.creation,
        "base_guid": m.base.as_ref().map(|b| b.guid.to_string()),
        "base_snapshot": m.base.as_ref().map(|b| b.snapshot.clone()),
        "kind": if m.base.is_some() { "incremental" } else { "full" },
        "stream_len": m.stream_len,
        "stream_digest": m.stream_digest,
        "chunks": m.stats.chunks,
        "new_chunks": m.stats.new_chunks,
        "new_stored_bytes": m.stats.new_stored_bytes,
        "send_flags": m.send_flags,
        "host": m.host,
        "zfs": m.zfs,
        "shipped_at": rfc3339(m.shipped_at),
        "damaged": damaged,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_summary_says_what_the_ratio_is_measured_against() {
        assert_eq!(
            super::summary(2, 4 << 20, 2 << 20, "their chunks"),
            "2 snapshot(s): 4.0 MiB of streams in 2.0 MiB of their chunks \
             (deduplication and compression 2.00x)"
        );
        assert_eq!(
            super::summary(0, 0, 0, "packs"),
            "0 snapshot(s): 0 B of streams in 0 B of packs"
        );
    }
}
