//! Comparing a restored tree with its recorded manifest.

use std::cmp::Ordering;

use super::{Comparison, Entry, FileList};

/// Merges `expected` and `actual` by path. Every missing, extra and changed
/// path is counted; the first `cap` of each are listed. A changed path
/// lists what differs, in this order: "type", "size", "mode", "owner"
/// (uid or gid), "mtime" (seconds or nanoseconds), "target", "rdev",
/// "content" (BLAKE3). ctime and inode numbers are not compared: a restore
/// cannot keep the one and need not keep the other.
pub fn compare(expected: &FileList, actual: &FileList, cap: usize) -> Comparison {
    let mut c = Comparison {
        expected: expected.entries.len() as u64,
        actual: actual.entries.len() as u64,
        ..Comparison::default()
    };
    let (mut e, mut a) = (
        expected.entries.iter().peekable(),
        actual.entries.iter().peekable(),
    );
    loop {
        let order = match (e.peek(), a.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.path.cmp(&y.path),
        };
        match order {
            Ordering::Less => {
                let x = e.next().expect("peeked");
                c.missing += 1;
                if c.missing_paths.len() < cap {
                    c.missing_paths.push(x.display_path());
                }
            }
            Ordering::Greater => {
                let y = a.next().expect("peeked");
                c.extra += 1;
                if c.extra_paths.len() < cap {
                    c.extra_paths.push(y.display_path());
                }
            }
            Ordering::Equal => {
                let (x, y) = (e.next().expect("peeked"), a.next().expect("peeked"));
                let diffs = differences(x, y);
                if !diffs.is_empty() {
                    c.changed += 1;
                    if c.changed_paths.len() < cap {
                        c.changed_paths.push((x.display_path(), diffs));
                    }
                }
            }
        }
    }
    c
}

/// What differs between two entries of the same path.
pub(crate) fn differences(x: &Entry, y: &Entry) -> Vec<String> {
    let checks: [(&str, bool); 8] = [
        ("type", x.kind != y.kind),
        ("size", x.size != y.size),
        ("mode", x.mode != y.mode),
        ("owner", (x.uid, x.gid) != (y.uid, y.gid)),
        ("mtime", (x.mtime, x.mtime_nsec) != (y.mtime, y.mtime_nsec)),
        ("target", x.target != y.target),
        ("rdev", x.rdev != y.rdev),
        ("content", x.blake3 != y.blake3),
    ];
    checks
        .into_iter()
        .filter(|(_, differs)| *differs)
        .map(|(what, _)| what.to_owned())
        .collect()
}
