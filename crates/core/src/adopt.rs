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

use crate::error::Result;
use crate::format::index::PackBlobs;
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

/// Indexes every pack that is in the repository but in no index segment.
pub fn adopt_unindexed_packs(repo: &mut Repository) -> Result<Adopted> {
    let indexed: HashSet<Id> = repo.index().packs().iter().copied().collect();
    let mut found = Vec::new();
    let mut out = Adopted::default();
    for (name, size) in repo.packs().list_packs()? {
        let Ok(id) = name.parse::<Id>() else { continue };
        if indexed.contains(&id) {
            continue;
        }
        match repo.packs().read_trailer(&name, size) {
            Ok(entries) => {
                out.packs += 1;
                out.bytes += entries.iter().map(|e| u64::from(e.length)).sum::<u64>();
                found.push(PackBlobs { pack: id, entries });
            }
            Err(why) => out.unreadable.push(format!("pack {name}: {why}")),
        }
    }
    repo.packs_mut().index_packs(&found)?;
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

#[cfg(test)]
mod tests {

    use super::*;
    use crate::backend::{Backend, FileType};
    use crate::check::{check, CheckOptions};
    use crate::progress::NoProgress;

    use crate::test_support::{fake_stream, pseudo_random};
    use crate::test_support::{ship_test_stream, test_repo};

    #[test]
    fn packs_of_an_interrupted_ship_are_adopted_and_not_uploaded_again() {
        let (backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(3_000_000, 11));
        ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
        let packs = backend.list(FileType::Pack).unwrap();
        assert!(packs.len() > 8, "several checkpoints: {}", packs.len());
        // As if the ship had died before any segment and its manifest: only
        // the packs are left, plus a junk pack that must be left alone.
        for (name, _) in backend.list(FileType::Index).unwrap() {
            backend.remove(FileType::Index, &name).unwrap();
        }
        for (name, _) in backend.list(FileType::Snapshot).unwrap() {
            backend.remove(FileType::Snapshot, &name).unwrap();
        }
        backend
            .write(FileType::Pack, &"ee".repeat(32), b"not a pack at all")
            .unwrap();
        let mut repo = Repository::open(backend.clone(), b"pw").unwrap();
        assert!(repo.index().is_empty());
        let adopted = adopt_unindexed_packs(&mut repo).unwrap();
        assert_eq!(adopted.packs, packs.len());
        assert_eq!(adopted.unreadable.len(), 1, "{adopted:?}");
        assert!(adopted.unreadable[0].contains(&"ee".repeat(32)));
        // The same stream again stores nothing new.
        let before = backend.list(FileType::Pack).unwrap().len();
        ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
        assert_eq!(backend.list(FileType::Pack).unwrap().len(), before);
        // And a reopened repository sees the adopted packs in its index.
        let repo = Repository::open(backend, b"pw").unwrap();
        assert_eq!(repo.index().packs().len(), packs.len());
        let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(
            r.errors.iter().all(|e| e.contains(&"ee".repeat(32))),
            "{:?}",
            r.errors
        );
    }
}
