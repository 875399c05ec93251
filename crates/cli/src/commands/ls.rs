//! `backup ls SNAPSHOT [PATH] [--long] [--recursive] [--json]`.
//!
//! One pass over the manifest, read chunk by chunk and printed as it goes
//! (it stops reading after PATH's run): the list is
//! sorted by path bytes, so PATH comes before everything below it, and
//! everything below it is among the paths that begin with PATH's bytes,
//! which are one run.

use anyhow::Result;
use backup_core::filelist::{is_under, Entry, Kind};

use super::browse::{entry_json, long_line, name_of, recorded_path, Browse, JsonArray, Out};
use crate::cli::{GlobalArgs, LsArgs};
use crate::exit::{ExitStatus, UsageError};

pub fn run(g: &GlobalArgs, a: &LsArgs) -> Result<ExitStatus> {
    let b = Browse::open(g, "ls")?;
    let (id, m) = b.find(&a.snapshot)?;
    let dir = recorded_path(&a.path);
    let mut out = Out::stdout();
    let mut json = JsonArray::default();
    let mut show = |e: &Entry, out: &mut Out| -> Result<()> {
        if a.json {
            json.push(out, &entry_json(e))
        } else if a.long {
            out.line(&long_line(e))
        } else {
            out.line(&name_of(e))
        }
    };
    let mut found = false;
    for e in b.entries(&id, &m)? {
        let e = e?;
        if !found {
            if e.path == dir {
                found = true;
                if e.kind != Kind::Dir {
                    // A file lists as itself; below it there is nothing.
                    if !a.recursive {
                        show(&e, &mut out)?;
                    }
                    break;
                }
            } else if e.path > dir {
                break;
            }
            continue;
        }
        if !e.path.starts_with(&dir) {
            break;
        }
        if !is_under(&e.path, &dir) {
            continue;
        }
        let below = if dir.is_empty() {
            &e.path[..]
        } else {
            &e.path[dir.len() + 1..]
        };
        if a.recursive || !below.contains(&b'/') {
            show(&e, &mut out)?;
        }
    }
    if !found {
        return Err(UsageError(format!(
            "{} is not in snapshot {} ({})",
            if dir.is_empty() { "/" } else { a.path.as_str() },
            m.full_name(),
            id.short()
        ))
        .into());
    }
    if a.json {
        json.finish(&mut out)?;
    }
    out.finish()?;
    Ok(ExitStatus::Success)
}
