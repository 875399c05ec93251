//! `backup find PATTERN [--dataset DS] [--since T] [--until T] [--json]`:
//! every shipped snapshot in which a matching path exists, oldest first per
//! dataset, each marked against the dataset's previous snapshot: added,
//! unchanged, modified (content, size, ...), metadata, and deleted where a
//! path of the previous one is gone.

use std::collections::BTreeMap;
use std::rc::Rc;

use anyhow::Result;
use backup_core::filelist::{path_matches, status_of, Entry, Status};
use backup_core::{Id, ListSearch, Manifest};
use jiff::Timestamp;
use serde_json::json;

use super::browse::{entry_json, Browse, JsonArray, Out};
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
    let pattern = a.pattern.clone().into_bytes();
    // One search for every snapshot: a chunk of a list that the previous
    // list had too, after the same bytes, is not read again.
    let mut search =
        ListSearch::new(move |e| !e.path.is_empty() && path_matches(&pattern, &e.path));
    // Each snapshot's rows are printed once it is searched, so that only
    // one snapshot's matches (and the previous one's) are held at a time.
    let mut out = Out::stdout();
    let mut json = JsonArray::default();
    let mut printed = 0usize;
    let mut without = Vec::new();
    let mut damaged = false;
    for (_, mut snaps) in by_dataset {
        snaps.sort_by_key(|(_, m)| (m.createtxg, m.shipped_at));
        // The matches of the dataset's previous snapshot with a manifest.
        let mut prev: Option<BTreeMap<Vec<u8>, Entry>> = None;
        for (id, cached) in snaps {
            let (m, now) = match matches(&b, id, &mut search) {
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
            let Some(now) = now else {
                without.push(format!("{} ({})", m.full_name(), id.short()));
                continue;
            };
            // One manifest per snapshot, shared by its rows: a manifest
            // holds its chunk lists (thousands of ids for a big dataset).
            let m = Rc::new(m);
            let mut rows = Vec::new();
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
                    m: Rc::clone(&m),
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
                            m: Rc::clone(&m),
                            entry: old.clone(),
                            status: "deleted",
                            what: Vec::new(),
                        });
                    }
                }
            }
            for r in &rows {
                if a.json {
                    json.push(&mut out, &r.json())?;
                } else {
                    out.line(&r.line())?;
                }
            }
            printed += rows.len();
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
        json.finish(&mut out)?;
    }
    out.finish()?;
    if !a.json {
        eprintln!("{printed} match(es)");
    }
    Ok(if damaged {
        ExitStatus::Damaged
    } else {
        ExitStatus::Success
    })
}

/// A snapshot's manifest and its matching entries by path (`None`: it has
/// no file manifest).
type Matches = (Manifest, Option<BTreeMap<Vec<u8>, Entry>>);

/// The snapshot `id`'s manifest and, if it has a file manifest, the
/// entries `search` keeps of it, by path.
fn matches(b: &Browse, id: &Id, search: &mut ListSearch) -> backup_core::Result<Matches> {
    let m = b.repo.read_manifest(id)?;
    let Some(files) = &m.files else {
        return Ok((m, None));
    };
    let now = search
        .matches(&b.repo, files, &m.full_name())?
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect();
    Ok((m, Some(now)))
}

struct Row {
    id: Id,
    m: Rc<Manifest>,
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
