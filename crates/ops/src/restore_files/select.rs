//! Which entries of the file manifest a restore makes, and whether the
//! places they go to are free.

use std::collections::HashMap;
use std::path::Path;

use backup_core::filelist::{is_under, Entry, FileList, Kind};

use super::below;
use crate::error::{Error, Result};

/// The entries to restore.
#[derive(Debug)]
pub struct Selection<'a> {
    /// The requested paths, normalised, without those below another.
    pub tops: Vec<&'a Entry>,
    /// Every entry at or below a requested path, in path order.
    pub entries: Vec<&'a Entry>,
    /// Directories above the requested paths (not the root), outermost
    /// first: made in DIR when missing, with their recorded metadata.
    pub ancestors: Vec<&'a Entry>,
    /// For a regular file sharing its inode with an earlier one: that one.
    links: HashMap<Vec<u8>, &'a Entry>,
}

impl<'a> Selection<'a> {
    /// The regular files whose contents must be fetched: the first path of
    /// each inode.
    pub fn first_of_each_inode(&self) -> Vec<&'a Entry> {
        self.entries
            .iter()
            .filter(|e| e.kind == Kind::File && !self.links.contains_key(&e.path))
            .copied()
            .collect()
    }

    /// The file `e` is a hard link to, if it is one.
    pub fn linked_to(&self, e: &Entry) -> Option<&'a Entry> {
        self.links.get(&e.path).copied()
    }
}

/// `p` without leading and trailing slashes (`/` alone: the root, `""`).
fn normalise(p: &[u8]) -> &[u8] {
    let start = p.iter().position(|&c| c != b'/').unwrap_or(p.len());
    let end = p.iter().rposition(|&c| c != b'/').map_or(start, |i| i + 1);
    &p[start..end.max(start)]
}

/// True if `e` matters to a restore of `paths`: at or below one of them,
/// or above one (its ancestors). A list of only these entries selects
/// exactly what the whole list selects, so a caller can keep them while
/// streaming a big list instead of holding all of it.
pub fn concerns(e: &Entry, paths: &[Vec<u8>]) -> bool {
    paths
        .iter()
        .map(|p| normalise(p))
        .any(|p| is_under(&e.path, p) || is_under(p, &e.path))
}

/// Selects `paths` and what is below them; a path not in `list` is an
/// error naming it and `snapshot`.
pub fn select<'a>(list: &'a FileList, paths: &[Vec<u8>], snapshot: &str) -> Result<Selection<'a>> {
    let mut tops: Vec<&Entry> = Vec::new();
    for p in paths {
        let p = normalise(p);
        let e = list.get(p).ok_or_else(|| Error::Invalid {
            what: format!("--path {}", String::from_utf8_lossy(p)),
            reason: format!(
                "{snapshot} has no such path (`backup ls {snapshot}` lists what it has)"
            ),
        })?;
        tops.push(e);
    }
    tops.sort_by(|a, b| a.path.cmp(&b.path));
    tops.dedup_by(|a, b| a.path == b.path);
    let all = tops.clone();
    tops.retain(|t| {
        !all.iter()
            .any(|o| o.path != t.path && o.kind == Kind::Dir && is_under(&t.path, &o.path))
    });
    let entries: Vec<&Entry> = list
        .entries
        .iter()
        .filter(|e| tops.iter().any(|t| is_under(&e.path, &t.path)))
        .collect();
    let mut ancestors: Vec<&Entry> = Vec::new();
    for t in &tops {
        for (i, _) in t.path.iter().enumerate().filter(|(_, &c)| c == b'/') {
            if let Some(a) = list.get(&t.path[..i]) {
                if !ancestors.iter().any(|x| x.path == a.path) {
                    ancestors.push(a);
                }
            }
        }
    }
    ancestors.sort_by(|a, b| a.path.cmp(&b.path));
    let mut first: HashMap<u64, &Entry> = HashMap::new();
    let mut links = HashMap::new();
    for e in entries
        .iter()
        .filter(|e| e.kind == Kind::File && e.ino != 0)
    {
        match first.get(&e.ino) {
            Some(f) => {
                links.insert(e.path.clone(), *f);
            }
            None => {
                first.insert(e.ino, e);
            }
        }
    }
    Ok(Selection {
        tops,
        entries,
        ancestors,
        links,
    })
}

/// Refuses, before anything is made, a restore that would replace what is
/// in `into`: an existing non-directory unless `overwrite`, and a
/// directory by a non-directory always. Names up to five conflicts.
pub fn check_targets(sel: &Selection<'_>, into: &Path, overwrite: bool) -> Result<()> {
    let mut conflicts = Vec::new();
    for e in &sel.ancestors {
        let at = below(into, e);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            conflicts.push(format!("{} exists and is not a directory", at.display()));
        }
    }
    for e in &sel.entries {
        let at = below(into, e);
        let Ok(m) = std::fs::symlink_metadata(&at) else {
            continue;
        };
        match (e.kind == Kind::Dir, m.is_dir()) {
            (true, true) => {}
            (true, false) => {
                conflicts.push(format!("{} exists and is not a directory", at.display()));
            }
            (false, true) => conflicts.push(format!(
                "{} is a directory: a {:?} would replace it",
                at.display(),
                e.kind
            )),
            _ if overwrite => {}
            _ => conflicts.push(format!("{} exists", at.display())),
        }
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    let n = conflicts.len();
    conflicts.truncate(5);
    Err(Error::Invalid {
        what: format!("restore into {}", into.display()),
        reason: format!(
            "{}{}; nothing was restored (--overwrite replaces files, never directories)",
            conflicts.join("; "),
            if n > 5 {
                format!(" and {} more", n - 5)
            } else {
                String::new()
            }
        ),
    })
}
