//! Index segments: listing, reading (checked against their names), writing
//! (only for packs already durable), recording in the in-memory index, and
//! removing them.

use std::collections::HashSet;
use std::path::Path;

use super::{PackStore, CHECKPOINT_PACKS};
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::index::{self, Index, PackBlobs};
use crate::id::{check_name, Id};
use crate::index_table::{self, Builder, Table};

/// Segments of a whole new index ([`PackStore::write_index`]) hold at most
/// this many packs each.
pub(crate) const PACKS_PER_SEGMENT: usize = 512;

impl PackStore {
    /// Reads every index segment again (with a table directory, only those
    /// its table does not cover). A segment that cannot be read is skipped
    /// and remembered in [`index_problems`](Self::index_problems): the
    /// repository stays usable (`check` names it; a restore that needs its
    /// blobs fails naming the missing chunk).
    pub(crate) fn reload_index(&mut self) -> Result<()> {
        let names = self.segment_names()?;
        let loaded = match &self.table_dir {
            Some(dir) => self.load_with_table(dir, &names)?,
            None => None,
        };
        let (index, problems) = match loaded {
            Some(l) => l,
            None => self.load_in_memory(&names)?,
        };
        self.index = index;
        self.index_problems = problems;
        Ok(())
    }

    /// Every segment's blobs in memory.
    fn load_in_memory(&self, names: &[String]) -> Result<(Index, Vec<String>)> {
        let mut index = Index::new();
        let mut problems = Vec::new();
        for name in names {
            match self.read_index_segment(name) {
                Ok(packs) => packs.iter().for_each(|p| index.add_pack(p)),
                Err(e @ Error::Backend { .. }) => return Err(e),
                Err(e) => problems.push(e.to_string()),
            }
        }
        Ok((index, problems))
    }

    /// The table in `dir` if every segment it covers is still there, and
    /// the segments it does not cover: in memory beside it, or merged into
    /// a new table once they hold more than an eighth of its rows (or more
    /// than a run). `None` if the table cannot be written: the caller then
    /// holds the whole index in memory, as without a cache.
    fn load_with_table(
        &self,
        dir: &Path,
        names: &[String],
    ) -> Result<Option<(Index, Vec<String>)>> {
        let key = index_table::mac_key(self.keys.master());
        let path = dir.join(index_table::FILE_NAME);
        let current: HashSet<&str> = names.iter().map(String::as_str).collect();
        let (old, packs) = match Table::open(&path, &key) {
            Ok((t, p)) if t.segments().iter().all(|s| current.contains(&*s.to_hex())) => {
                (Some(t), p)
            }
            _ => (None, Vec::new()),
        };
        let covered: HashSet<String> = old
            .iter()
            .flat_map(Table::segments)
            .map(Id::to_hex)
            .collect();
        let mut builder = Builder::new(dir, packs);
        let mut problems = Vec::new();
        for name in names.iter().filter(|n| !covered.contains(*n)) {
            match self.read_index_segment(name) {
                Ok(packs) => {
                    let id = name
                        .parse()
                        .expect("a segment's name is checked against its bytes");
                    if builder.add(id, &packs).is_err() {
                        return Ok(None);
                    }
                }
                Err(e @ Error::Backend { .. }) => return Err(e),
                Err(e) => problems.push(e.to_string()),
            }
        }
        let fits = old
            .as_ref()
            .is_some_and(|t| !builder.spilled() && builder.rows() * 8 <= t.rows());
        let old = match old {
            Some(t) if fits => {
                let (packs, numbers, rows) = builder.into_overlay();
                return Ok(Some((Index::with_table(t, packs, numbers, rows), problems)));
            }
            old => old,
        };
        Ok(builder
            .finish(old.as_ref(), &key, &path)
            .ok()
            .map(|(t, packs)| {
                let numbers = Index::numbers(&packs);
                (Index::with_table(t, packs, numbers, Vec::new()), problems)
            }))
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
