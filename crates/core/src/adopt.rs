//! Resuming after an interrupted ship: packs that reached the repository
//! but no index segment (a ship writes a segment after every
//! `CHECKPOINT_PACKS` packs, so a lost connection or a kill leaves up to
//! that many, plus those in flight) are read back from their own trailers
//! and indexed, so the next ship deduplicates against them instead of
//! uploading their blobs again.
//!
//! Only the trailer of each pack is read (two small range reads), and it
//! is authenticated like every sealed object: a pack whose trailer does not
//! open is left alone (`check` reports it, prune removes it). A pack that
//! another ship is still writing is invisible (the backend contract), but
//! one it wrote and has not indexed yet is not; so adoption runs only when
//! no other process holds a lock on the repository (the caller checks).
//! Indexing a pack twice would in any case be harmless: the index keeps
//! the first location of each blob and prune rewrites the index.

use std::collections::HashSet;

use crate::backend::FileType;
use crate::error::Result;
use crate::format::index::PackBlobs;
use crate::format::pack::{self, Entry};
use crate::id::Id;
use crate::repo_lock::RepoLock;
use crate::repository::Repository;

/// What adoption found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// Packs indexed again.
    pub packs: usize,
    /// The bytes of their blobs.
    pub bytes: u64,
    /// Unindexed packs whose trailer could not be read, each with why.
    pub unreadable: Vec<String>,
}

/// Reads a pack's blob list from its own trailer.
pub(crate) fn read_trailer(repo: &Repository, name: &str, size: u64) -> Result<Vec<Entry>, String> {
    let b = repo.backend();
    let min = (pack::HEADER_LEN + pack::FOOTER_LEN) as u64;
    if size < min {
        return Err(format!("it is {size} bytes, too short to be a pack"));
    }
    let footer = b
        .read_range(
            FileType::Pack,
            name,
            size - pack::FOOTER_LEN as u64,
            pack::FOOTER_LEN as u64,
        )
        .map_err(|e| e.to_string())?;
    let tlen = u64::from(pack::footer_trailer_len(&footer)?);
    let tstart = (size - pack::FOOTER_LEN as u64)
        .checked_sub(tlen)
        .filter(|s| *s >= pack::HEADER_LEN as u64)
        .ok_or("trailer length exceeds the pack")?;
    let sealed = b
        .read_range(FileType::Pack, name, tstart, tlen)
        .map_err(|e| e.to_string())?;
    pack::parse_trailer(repo.keys(), &sealed, tstart)
}

/// Indexes every pack that is in the repository but in no index segment.
pub fn adopt_unindexed_packs(repo: &mut Repository) -> Result<Adopted> {
    let indexed: HashSet<Id> = repo.index().packs().iter().copied().collect();
    let mut found = Vec::new();
    let mut out = Adopted::default();
    for (name, size) in repo.backend().list(FileType::Pack)? {
        let Ok(id) = name.parse::<Id>() else { continue };
        if indexed.contains(&id) {
            continue;
        }
        match read_trailer(repo, &name, size) {
            Ok(entries) => {
                out.packs += 1;
                out.bytes += entries.iter().map(|e| u64::from(e.length)).sum::<u64>();
                found.push(PackBlobs { pack: id, entries });
            }
            Err(why) => out.unreadable.push(format!("pack {name}: {why}")),
        }
    }
    for batch in found.chunks(crate::ingest::CHECKPOINT_PACKS) {
        repo.write_index_segment(batch)?;
        repo.index_packs(batch);
    }
    Ok(out)
}

/// Before a ship, under its lock: adopts unindexed packs if no other
/// process holds a lock (see the module comment); `None` if others do.
pub fn resume(repo: &mut Repository, lock: &RepoLock) -> Result<Option<Adopted>> {
    if !lock.alone(repo)? {
        return Ok(None);
    }
    adopt_unindexed_packs(repo).map(Some)
}

impl Adopted {
    /// One line for the operator, if anything was found.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.packs > 0 {
            parts.push(format!(
                "resumed an interrupted ship: indexed {} pack(s) already in the repository ({} bytes of blobs), not uploaded again",
                self.packs, self.bytes
            ));
        }
        if !self.unreadable.is_empty() {
            parts.push(format!(
                "{} unindexed pack(s) could not be read ({}); run `backup check`",
                self.unreadable.len(),
                self.unreadable.join("; ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}
