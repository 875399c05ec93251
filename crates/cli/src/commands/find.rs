//! `backup find PATTERN [--dataset DS] [--since T] [--until T] [--json]`:
//! every shipped snapshot in which a matching path exists, oldest first per
//! dataset, each marked against the dataset's previous snapshot: added,
//! unchanged, modified (content, size, ...), metadata, and deleted where a
//! path of the previous one is gone.

use std::collections::BTreeMap;

use anyhow::Result;
use backup_core::filelist::{path_matches, status_of, Entry, Status};
use backup_core::{Id, Manifest};
use jiff::Timestamp;
use serde_json::json;

use super::browse::{entry_json, Browse};
use crate::cli::{FindArgs, GlobalArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::format::{bytes, time};

pub fn run(g: &GlobalArgs, a: &FindArgs) -> Result<ExitStatus> {
    let since = a
        .since
        .as_deref()
        .map(|t| instant("--since", t))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|t| instant("--until", t))
        .transpose()?;
    let b = Browse::open(g, "find")?;
    let mut by_dataset: BTreeMap<&str, Vec<&(Id, Manifest)>> = BTreeMap::new();
    for s in &b.all {
        let m = &s.1;
        let in_range =
            since.is_none_or(|t| m.creation >= t) && until.is_none_or(|t| m.creation < t);
        if a.dataset.as_deref().is_none_or(|d| d == m.dataset) && in_range {
            by_dataset.entry(m.dataset.as_str()).or_default().push(s);
        }
    }
    let pattern = a.pattern.as_bytes();
    let mut rows = Vec::new();
    let mut without = Vec::new();
    let mut damaged = false;
    for (_, mut snaps) in by_dataset {
        snaps.sort_by_key(|(_, m)| (m.createtxg, m.shipped_at));
        // The matches of the dataset's previous snapshot with a manifest.
        let mut prev: Option<BTreeMap<Vec<u8>, Entry>> = None;
        for (id, cached) in snaps {
            let read = b.repo.read_manifest(id).and_then(|m| match &m.files {
                None => Ok((m, None)),
                Some(f) => {
                    backup_core::load_file_list(&b.repo, f, &m.full_name()).map(|l| (m, Some(l)))
                }
            });
            let (m, list) = match read {
                Ok(x) => x,
                // One damaged manifest does not hide the others' answers.
                Err(e) if e.is_integrity() => {
                    crate::journal::warning!(
                        "backup: warning: {} ({}) not searched: {e}; run `backup check`",
                        cached.full_name(),
                        id.short()
                    );
                    damaged = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let Some(list) = list else {
                without.push(format!("{} ({})", m.full_name(), id.short()));
                continue;
            };
            let now: BTreeMap<Vec<u8>, Entry> = list
                .entries
                .into_iter()
                .filter(|e| !e.path.is_empty() && path_matches(pattern, &e.path))
                .map(|e| (e.path.clone(), e))
                .collect();
            for (path, e) in &now {
                let (status, what) = match prev.as_ref().map(|p| p.get(path)) {
                    None | Some(None) => ("added", Vec::new()),
                    Some(Some(old)) => {
                        let what = backup_core::filelist::diff_entries(old, e);
                        match (what.is_empty(), status_of(&what)) {
                            (true, _) => ("unchanged", what),
                            (false, Status::Modified) => ("modified", what),
                            (false, _) => ("metadata", what),
                        }
                    }
                };
                rows.push(Row {
                    id: *id,
                    m: m.clone(),
                    entry: e.clone(),
                    status,
                    what,
                });
            }
            if let Some(p) = &prev {
                for (path, old) in p {
                    if !now.contains_key(path) {
                        rows.push(Row {
                            id: *id,
                            m: m.clone(),
                            entry: old.clone(),
                            status: "deleted",
                            what: Vec::new(),
                        });
                    }
                }
            }
            prev = Some(now);
        }
    }
    if !without.is_empty() {
        eprintln!(
            "backup: note: {} snapshot(s) have no file manifest and were not searched: {}",
            without.len(),
            without.join(", ")
        );
    }
    if a.json {
        let v: Vec<_> = rows.iter().map(Row::json).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &rows {
            println!("{}", r.line());
        }
        eprintln!("{} match(es)", rows.len());
    }
    Ok(if damaged {
        ExitStatus::Damaged
    } else {
        ExitStatus::Success
    })
}

struct Row {
    id: Id,
    m: Manifest,
    entry: Entry,
    status: &'static str,
    what: Vec<String>,
}

impl Row {
    fn line(&self) -> String {
        let status = if self.what.is_empty() {
            self.status.to_owned()
        } else {
            format!("{} ({})", self.status, self.what.join(", "))
        };
        let size = if self.status == "deleted" {
            String::new()
        } else {
            bytes(self.entry.size)
        };
        format!(
            "{}  {}  {:<24}  {:>10}  {}",
            self.m.full_name(),
            time(self.m.creation),
            status,
            size,
            self.entry.display_path()
        )
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "snapshot": self.m.full_name(),
            "id": self.id.to_hex(),
            "created": crate::format::rfc3339(self.m.creation),
            "status": self.status,
            "what": self.what,
            "entry": entry_json(&self.entry),
        })
    }
}

/// RFC 3339, or a date (its midnight, UTC), as Unix seconds.
fn instant(flag: &str, t: &str) -> Result<i64> {
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts.as_second());
    }
    let date: jiff::civil::Date = t.parse().map_err(|e| {
        UsageError(format!(
            "{flag} {t:?}: neither RFC 3339 nor YYYY-MM-DD: {e}"
        ))
    })?;
    Ok(date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| UsageError(format!("{flag} {t:?}: {e}")))?
        .timestamp()
        .as_second())
}
