//! Index segments: listing, reading (checked against their names), writing
//! (only for packs already durable), recording in the in-memory index, and
//! removing them.

use std::collections::HashSet;

use super::{PackStore, CHECKPOINT_PACKS};
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::index::{self, Index, PackBlobs};
use crate::id::{check_name, Id};

/// Segments of a whole new index ([`PackStore::write_index`]) hold at most
/// this many packs each.
pub(crate) const PACKS_PER_SEGMENT: usize = 512;

impl PackStore {
    /// Reads every index segment again. A segment that cannot be read is
    /// skipped and remembered in [`index_problems`](Self::index_problems):
    /// the repository stays usable (`check` names it; a restore that needs
    /// its blobs fails naming the missing chunk).
    pub(crate) fn reload_index(&mut self) -> Result<()> {
        let mut index = Index::new();
        let mut problems = Vec::new();
        for name in self.segment_names()? {
            match self.read_index_segment(&name) {
                Ok(packs) => packs.iter().for_each(|p| index.add_pack(p)),
                Err(e @ Error::Backend { .. }) => return Err(e),
                Err(e) => problems.push(e.to_string()),
            }
        }
        self.index = index;
        self.index_problems = problems;
        Ok(())
    }

    /// The names of every index segment.
    pub(crate) fn segment_names(&self) -> Result<Vec<String>> {
        Ok(self
            .backend
            .list(FileType::Index)?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// Reads and checks one index segment.
    pub(crate) fn read_index_segment(&self, name: &str) -> Result<Vec<PackBlobs>> {
        let bytes = self.backend.read(FileType::Index, name)?;
        check_name("index segment", name, &bytes)?;
        index::decode_segment(&self.keys, &bytes)
            .map_err(|r| Error::corrupt(format!("index segment {name}"), r))
    }

    /// Writes an index segment; its packs must already be durable. The
    /// in-memory index is not changed: [`record`](Self::record) does that.
    pub(crate) fn write_index_segment(&self, packs: &[PackBlobs]) -> Result<Id> {
        let bytes = index::encode_segment(&self.keys, packs);
        let id = Id::of_bytes(&bytes);
        self.backend.write(FileType::Index, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    /// Writes a whole new index naming `packs` (prune, repair): segments
    /// of at most [`PACKS_PER_SEGMENT`] packs. Returns their names; the
    /// caller removes the old segments that are not among them.
    pub(crate) fn write_index(&self, packs: &[PackBlobs]) -> Result<HashSet<String>> {
        let mut written = HashSet::new();
        for part in packs.chunks(PACKS_PER_SEGMENT) {
            written.insert(self.write_index_segment(part)?.to_hex());
        }
        Ok(written)
    }

    /// Adds packs to the in-memory index (after their segment is written).
    pub(crate) fn record(&mut self, packs: &[PackBlobs]) {
        for p in packs {
            self.index.add_pack(p);
        }
    }

    /// Indexes durable packs: a segment for every [`CHECKPOINT_PACKS`] of
    /// them, each recorded once it is written.
    pub(crate) fn index_packs(&mut self, packs: &[PackBlobs]) -> Result<()> {
        for batch in packs.chunks(CHECKPOINT_PACKS) {
            self.write_index_segment(batch)?;
            self.record(batch);
        }
        Ok(())
    }

    /// Removes an index segment. The caller has written segments naming
    /// every pack still needed (prune).
    pub(crate) fn remove_index_segment(&self, name: &str) -> Result<()> {
        self.backend.remove(FileType::Index, name)
    }
}
