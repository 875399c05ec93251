//! The fast path: each file rebuilt from the data-lane chunks that hold
//! its blocks ([`backup_core::extract`]) and kept only if its BLAKE3 is the
//! manifest's. What it cannot rebuild goes to the slow path, with why.

use std::collections::HashSet;

use backup_core::extract::{map_chain, Plan};
use backup_core::filelist::Entry;
use backup_core::{Id, Manifest, Repository};

use super::place::Stage;
use super::{restored, How, Method, Restored};
use crate::error::{Error, Result};

/// Restores what it can of `files` into the stage; returns the rest, each
/// with why the fast path did not take it. A damaged chunk is an error
/// naming the file and its object, never a fall-back.
pub fn restore<'a>(
    repo: &Repository,
    chain: &[(Id, Manifest)],
    files: &[&'a Entry],
    method: Method,
    stage: &Stage,
    out: &mut Restored,
) -> Result<Vec<(&'a Entry, String)>> {
    let mut slow = Vec::new();
    let empty = blake3::hash(b"");
    let mut wanted = HashSet::new();
    for e in files {
        if e.size == 0 && e.blake3 == Some(*empty.as_bytes()) {
            stage.new_file(e)?;
            out.paths.push(restored(e, How::Manifest, None));
        } else if method == Method::Slow {
            slow.push((*e, "the slow path was asked for".to_string()));
        } else if e.blake3.is_none() {
            slow.push((*e, "the file manifest has no digest for it".to_string()));
        } else {
            wanted.insert(e.ino);
        }
    }
    if wanted.is_empty() {
        return Ok(slow);
    }
    let map = map_chain(repo, chain.iter().map(|(_, m)| m), &wanted)?;
    out.meta_fetched += map.meta_fetched;
    for e in files.iter().filter(|e| wanted.contains(&e.ino)) {
        let pieces = match map.plan(e.ino, e.size) {
            Plan::Pieces(p) => p,
            Plan::Unsupported(why) => {
                slow.push((*e, why));
                continue;
            }
        };
        let (path, file) = stage.new_file(e)?;
        let what = format!("{} (object {})", e.display_path(), e.ino);
        let x = map
            .extract(repo, &pieces, e.size, &file, &what)
            .map_err(|err| Error::Restore {
                path: e.display_path(),
                object: e.ino,
                source: Box::new(err.into()),
            })?;
        out.data_fetched += x.fetched;
        if Some(x.blake3) == e.blake3 {
            out.paths.push(restored(e, How::Fast, None));
        } else {
            drop(file);
            std::fs::remove_file(&path)
                .map_err(|err| Error::io(format!("removing {}", path.display()), err))?;
            slow.push((
                *e,
                "the blocks found in the streams do not hash to the manifest's BLAKE3".into(),
            ));
        }
    }
    if method == Method::Fast {
        if let Some((e, why)) = slow.first() {
            return Err(Error::Invalid {
                what: format!("the fast path for {}", e.display_path()),
                reason: format!("{why}; without --fast-only the slow path restores it"),
            });
        }
    }
    Ok(slow)
}
