//! Reading manifests again from storage, to find the ones damaged since a
//! catalog cached them (`backup list` with a warm catalog).

use std::sync::Mutex;

use super::Repository;
use crate::error::{Error, Result};
use crate::id::Id;

impl Repository {
    /// Reads the manifests `ids` again from storage, as many at a time as
    /// the backend's transfers, and returns those that cannot be read or
    /// authenticated, each with its error (a [`Error::Corrupt`] naming the
    /// manifest, or [`Error::Missing`] for one that is gone). A storage
    /// failure (unreachable, denied) is returned as the error instead:
    /// nothing is known then.
    pub fn unreadable_manifests(&self, ids: &[Id]) -> Result<Vec<(Id, Error)>> {
        let next = Mutex::new(ids.iter());
        let found = Mutex::new(Vec::new());
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let threads = self.backend.transfers().clamp(1, 16).min(ids.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    if lock(&failed).is_some() {
                        return;
                    }
                    let Some(id) = lock(&next).next().copied() else {
                        return;
                    };
                    match self.read_manifest(&id) {
                        Ok(_) => {}
                        Err(e @ Error::Backend { .. }) => {
                            lock(&failed).get_or_insert(e);
                            return;
                        }
                        Err(e) => lock(&found).push((id, e)),
                    }
                });
            }
        });
        if let Some(e) = failed
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            return Err(e);
        }
        let mut found = found
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        found.sort_by_key(|(id, _)| *id);
        Ok(found)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
