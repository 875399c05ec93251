//! `backup ls SNAPSHOT [PATH] [--long] [--recursive] [--json]`.

use anyhow::Result;
use backup_core::filelist::{children, is_under};

use super::browse::{entry_json, long_line, name_of, recorded_path, Browse};
use crate::cli::{GlobalArgs, LsArgs};
use crate::exit::{ExitStatus, UsageError};

pub fn run(g: &GlobalArgs, a: &LsArgs) -> Result<ExitStatus> {
    let b = Browse::open(g, "ls")?;
    let (id, m) = b.find(&a.snapshot)?;
    let list = b.file_list(&id, &m)?;
    let dir = recorded_path(&a.path);
    let missing = || {
        UsageError(format!(
            "{} is not in snapshot {} ({})",
            if dir.is_empty() { "/" } else { a.path.as_str() },
            m.full_name(),
            id.short()
        ))
    };
    let entries: Vec<_> = if a.recursive {
        list.get(&dir).ok_or_else(missing)?;
        list.entries
            .iter()
            .filter(|e| is_under(&e.path, &dir) && e.path != dir)
            .collect()
    } else {
        children(&list, &dir).ok_or_else(missing)?
    };
    if a.json {
        let v: Vec<_> = entries.iter().map(|e| entry_json(e)).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for e in entries {
            if a.long {
                println!("{}", long_line(e));
            } else {
                println!("{}", name_of(e));
            }
        }
    }
    Ok(ExitStatus::Success)
}
