//! Reading manifests again from storage, to find the ones damaged since a
//! catalog cached them (`backup list` with a warm catalog).

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
