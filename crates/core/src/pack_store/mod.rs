//! The pack store: the one owner of packs and index segments.
//!
//! It seals blobs and packs them, writes packs durably (in parallel, within
//! the backend's `transfers()`), writes index segments and checkpoints and
//! records them in the in-memory [`Index`], and on the way back locates a
//! blob, reads it (alone, or in runs of adjacent blobs read ahead) and
//! authenticates and decodes it. It also reads pack trailers (adoption,
//! `check`) and removes packs and segments (prune). Nothing else in the
//! crate calls the backend for a pack or an index segment.
//!
//! | file | what |
//! |---|---|
//! | `index.rs` | index segments: list, read, write, record, remove |
//! | `write.rs` | sealing blobs, [`Packer`], writing one pack, repacking |
//! | `upload.rs` | the parallel uploader with its index checkpoints |
//! | `read.rs` | locating and reading blobs, in order, with read-ahead |
//! | `trailer.rs` | a pack's own trailer, and reading a whole pack back |

mod index;
mod read;
mod trailer;
mod upload;
mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

pub(crate) use trailer::BlobVerdict;
pub(crate) use write::SealedPack;

use crate::backend::{Backend, FileType};
use crate::crypto::Keys;
use crate::error::Result;
use crate::format::index::Index;
use crate::id::Id;

/// Packs written between two index checkpoints, so an interrupted ship
/// leaves most of its work indexed and a later ship does not upload it again.
pub(crate) const CHECKPOINT_PACKS: usize = 8;

/// How much the packs of a repository occupy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackUsage {
    /// Pack files.
    pub packs: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Lists the packs at `backend` (no key needed: names and sizes are
/// public), for `status` and `list`.
pub fn pack_usage(backend: &dyn Backend) -> Result<PackUsage> {
    let packs = backend.list(FileType::Pack)?;
    Ok(PackUsage {
        packs: packs.len() as u64,
        bytes: packs.iter().map(|(_, s)| s).sum(),
    })
}

/// Packs and index segments of one repository, and the index in memory.
pub(crate) struct PackStore {
    backend: Arc<dyn Backend>,
    keys: Keys,
    index: Index,
    index_problems: Vec<String>,
    /// Where the index table is kept, if anywhere (`index_table`).
    table_dir: Option<PathBuf>,
}

impl PackStore {
    /// A store with an empty index (a new repository).
    pub(crate) fn new(backend: Arc<dyn Backend>, keys: Keys) -> PackStore {
        PackStore {
            backend,
            keys,
            index: Index::new(),
            index_problems: Vec::new(),
            table_dir: None,
        }
    }

    /// A store whose index is read from every segment, kept in a table in
    /// `table_dir` if given.
    pub(crate) fn open(
        backend: Arc<dyn Backend>,
        keys: Keys,
        table_dir: Option<PathBuf>,
    ) -> Result<PackStore> {
        let mut store = PackStore::new(backend, keys);
        store.table_dir = table_dir;
        store.reload_index()?;
        Ok(store)
    }

    /// The blob index: every blob of every pack some segment names.
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// Index segments that could not be read when the index was loaded.
    pub(crate) fn index_problems(&self) -> &[String] {
        &self.index_problems
    }

    /// True if the blob is stored (and indexed).
    pub(crate) fn contains(&self, id: &Id) -> bool {
        self.index.contains(id)
    }

    /// Every stored pack by name, with its size, indexed or not.
    pub(crate) fn list_packs(&self) -> Result<Vec<(String, u64)>> {
        self.backend.list(FileType::Pack)
    }

    /// Removes a pack. The caller has made sure no index segment that stays
    /// names it (prune).
    pub(crate) fn remove_pack(&self, name: &str) -> Result<()> {
        self.backend.remove(FileType::Pack, name)
    }
}
