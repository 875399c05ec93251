//! Answering questions from recorded file manifests, without a restore:
//! what a directory held ([`children`]) and what changed between two
//! snapshots ([`diff`]).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::convert::Infallible;

use serde::Serialize;

use super::compare::differences;
use super::{Entry, FileList, Kind};

/// True if `path` is `dir` or below it (`dir` = `""` is the root).
pub fn is_under(path: &[u8], dir: &[u8]) -> bool {
    dir.is_empty() || path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}

/// The entries directly in directory `dir` (`""`: the root), sorted; for a
/// path that is not a directory, that entry alone. `None` if `dir` is not
/// in the list.
pub fn children<'a>(list: &'a FileList, dir: &[u8]) -> Option<Vec<&'a Entry>> {
    let at = list.get(dir)?;
    if at.kind != Kind::Dir {
        return Some(vec![at]);
    }
    let prefix: Vec<u8> = if dir.is_empty() {
        Vec::new()
    } else {
        [dir, b"/"].concat()
    };
    // Entries are sorted by path bytes: those under `prefix` are one run.
    let start = list
        .entries
        .partition_point(|e| e.path.as_slice() < prefix.as_slice());
    Some(
        list.entries[start..]
            .iter()
            .take_while(|e| e.path.starts_with(&prefix))
            .filter(|e| !e.path.is_empty() && !e.path[prefix.len()..].contains(&b'/'))
            .collect(),
    )
}

/// How a path changed between two snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Only in the second.
    Added,
    /// Only in the first.
    Removed,
    /// Content, size, type, symlink target or device changed.
    Modified,
    /// Only mode, owner or mtime changed.
    Metadata,
}

impl Status {
    /// One letter, as `git diff --name-status` reads: A, D, M, and m for
    /// metadata only.
    pub fn letter(self) -> char {
        match self {
            Status::Added => 'A',
            Status::Removed => 'D',
            Status::Modified => 'M',
            Status::Metadata => 'm',
        }
    }
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The path for people ([`Entry::display_path`]).
    pub path: String,
    /// How it changed.
    pub status: Status,
    /// What differs, for a path in both ("content", "size", "mode", ...).
    pub what: Vec<String>,
}

/// Every path under `dir` (`""`: all) that differs between `a` and `b`,
/// in path order. Pure; one pass over both sorted lists.
pub fn diff(a: &FileList, b: &FileList, dir: &[u8]) -> Vec<Change> {
    let ok = Ok::<&Entry, Infallible>;
    match diff_sorted(a.entries.iter().map(ok), b.entries.iter().map(ok), dir) {
        Ok(changes) => changes,
        Err(never) => match never {},
    }
}

/// [`diff`] of two lists given as their entries in path order, one at a
/// time (e.g. [`entries`](crate::filelist::entries) of two encoded
/// lists, so that neither is held decoded); the first error of either
/// ends it.
pub fn diff_sorted<X: Borrow<Entry>, E>(
    a: impl IntoIterator<Item = Result<X, E>>,
    b: impl IntoIterator<Item = Result<X, E>>,
    dir: &[u8],
) -> Result<Vec<Change>, E> {
    let mut xs = a.into_iter().filter(under(dir));
    let mut ys = b.into_iter().filter(under(dir));
    let (mut x, mut y) = (xs.next().transpose()?, ys.next().transpose()?);
    let mut out = Vec::new();
    loop {
        let order = match (&x, &y) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(p), Some(q)) => entry(p).path.cmp(&entry(q).path),
        };
        match (order, &x, &y) {
            (Ordering::Less, Some(p), _) => {
                out.push(change(entry(p), Status::Removed, Vec::new()));
                x = xs.next().transpose()?;
            }
            (Ordering::Greater, _, Some(q)) => {
                out.push(change(entry(q), Status::Added, Vec::new()));
                y = ys.next().transpose()?;
            }
            (_, Some(p), Some(q)) => {
                let what = differences(entry(p), entry(q));
                if !what.is_empty() {
                    out.push(change(entry(q), status_of(&what), what));
                }
                x = xs.next().transpose()?;
                y = ys.next().transpose()?;
            }
            _ => unreachable!("an order is only taken with the entries it compares"),
        }
    }
    Ok(out)
}

/// Keeps the entries under `dir`, and every error.
fn under<X: Borrow<Entry>, E>(dir: &[u8]) -> impl Fn(&Result<X, E>) -> bool + '_ {
    move |r| !matches!(r, Ok(e) if !is_under(&entry(e).path, dir))
}

/// The entry an owned or borrowed one is.
fn entry<X: Borrow<Entry>>(x: &X) -> &Entry {
    x.borrow()
}

/// What differs between two entries of one path ("content", "size",
/// "mode", ...; empty if nothing): for `find`'s comparisons.
pub fn diff_entries(x: &Entry, y: &Entry) -> Vec<String> {
    differences(x, y)
}

/// Modified if the data changed, else metadata only.
pub fn status_of(what: &[String]) -> Status {
    let data = ["content", "size", "type", "target", "rdev"];
    if what.iter().any(|w| data.contains(&w.as_str())) {
        Status::Modified
    } else {
        Status::Metadata
    }
}

fn change(e: &Entry, status: Status, what: Vec<String>) -> Change {
    Change {
        path: e.display_path(),
        status,
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: Kind, size: u64) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1,
            mtime_nsec: 0,
            ctime: 1,
            ctime_nsec: 0,
            ino: 1,
            target: None,
            rdev: None,
            blake3: (kind == Kind::File).then_some([size as u8; 32]),
        }
    }

    fn list(entries: Vec<Entry>) -> FileList {
        let mut entries = entries;
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        FileList { entries }
    }

    #[test]
    fn children_are_one_level_and_a_file_is_itself() {
        let l = list(vec![
            entry("", Kind::Dir, 0),
            entry("etc", Kind::Dir, 0),
            entry("etc/nginx", Kind::Dir, 0),
            entry("etc/nginx/nginx.conf", Kind::File, 10),
            entry("etc/hosts", Kind::File, 5),
            entry("etc-old", Kind::File, 1),
            entry("var", Kind::Dir, 0),
        ]);
        let names = |d: &str| -> Vec<String> {
            children(&l, d.as_bytes())
                .unwrap()
                .iter()
                .map(|e| e.display_path())
                .collect()
        };
        assert_eq!(names(""), ["etc", "etc-old", "var"]);
        assert_eq!(names("etc"), ["etc/hosts", "etc/nginx"]);
        assert_eq!(names("etc/hosts"), ["etc/hosts"]);
        assert!(children(&l, b"nope").is_none());
        assert!(is_under(b"etc/nginx", b"etc") && !is_under(b"etc-old", b"etc"));
    }

    #[test]
    fn diff_names_added_removed_modified_and_metadata_only() {
        let a = list(vec![
            entry("", Kind::Dir, 0),
            entry("keep", Kind::File, 1),
            entry("gone", Kind::File, 1),
            entry("grow", Kind::File, 1),
            entry("chmod", Kind::File, 1),
        ]);
        let mut chmod = entry("chmod", Kind::File, 1);
        chmod.mode = 0o600;
        let b = list(vec![
            entry("", Kind::Dir, 0),
            entry("keep", Kind::File, 1),
            entry("grow", Kind::File, 2),
            chmod,
            entry("new", Kind::File, 1),
        ]);
        let got: Vec<(char, String)> = diff(&a, &b, b"")
            .iter()
            .map(|c| (c.status.letter(), c.path.clone()))
            .collect();
        let want: Vec<(char, String)> =
            [('m', "chmod"), ('D', "gone"), ('M', "grow"), ('A', "new")]
                .iter()
                .map(|(l, p)| (*l, (*p).to_owned()))
                .collect();
        assert_eq!(got, want);
        assert_eq!(diff(&a, &b, b"grow").len(), 1);

        // The same from the encoded lists, one entry at a time.
        let (ea, eb) = (crate::filelist::encode(&a), crate::filelist::encode(&b));
        let one_by_one = |dir: &[u8]| {
            diff_sorted(
                crate::filelist::entries(&ea).unwrap(),
                crate::filelist::entries(&eb).unwrap(),
                dir,
            )
            .unwrap()
        };
        assert_eq!(one_by_one(b""), diff(&a, &b, b""));
        assert_eq!(one_by_one(b"grow"), diff(&a, &b, b"grow"));
        let broken = vec![Ok(entry("", Kind::Dir, 0)), Err("damaged")];
        assert_eq!(
            diff_sorted(broken, a.entries.iter().cloned().map(Ok), b""),
            Err("damaged")
        );
    }
}
