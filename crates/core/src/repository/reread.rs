//! Reading manifests again from storage, to find the ones damaged since a
//! catalog cached them (`backup list` with a warm catalog), and to measure
//! what a set of snapshots occupies.

use std::collections::HashSet;

use super::Repository;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::workers::map_parallel;

impl Repository {
    /// Reads the manifests `ids` again from storage, as many at a time as
    /// the backend's transfers, and returns those that cannot be read or
    /// authenticated, each with its error (a [`Error::Corrupt`] naming the
    /// manifest, or [`Error::Missing`] for one that is gone). Any other
    /// failure (unreachable storage, retries given up) is returned as the
    /// error instead: nothing is known then.
    pub fn unreadable_manifests(&self, ids: &[Id]) -> Result<Vec<(Id, Error)>> {
        let read = map_parallel(ids, self.backend.transfers(), |id| {
            self.read_manifest(id).err().map(|e| (*id, e))
        });
        let mut found = Vec::new();
        for r in read.into_iter().flatten() {
            match r {
                (_, e) if !e.is_integrity() => return Err(e),
                other => found.push(other),
            }
        }
        found.sort_by_key(|(id, _)| *id);
        Ok(found)
    }
}

impl Repository {
    /// The stored bytes of the distinct blobs the manifests `ids` reference
    /// (stream and file manifest chunks, each counted once however many of
    /// them share it, compressed and sealed as in the packs), read as many
    /// at a time as the backend's transfers. A blob shared with snapshots
    /// outside `ids` counts in full: this is what `ids` need, not what
    /// removing them would free. A manifest that cannot be read or
    /// authenticated counts nothing (see [`Self::unreadable_manifests`]);
    /// any other failure is the error.
    pub fn stored_bytes_of(&self, ids: &[Id]) -> Result<u64> {
        let read = map_parallel(ids, self.backend.transfers(), |id| self.read_manifest(id));
        let mut chunks = HashSet::new();
        for r in read {
            match r {
                Ok(m) => chunks.extend(m.referenced_chunks().copied()),
                Err(e) if e.is_integrity() => {}
                Err(e) => return Err(e),
            }
        }
        let index = self.index();
        Ok(chunks
            .iter()
            .filter_map(|c| index.get(c))
            .map(|loc| u64::from(loc.length))
            .sum())
    }
}
