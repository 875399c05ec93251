//! Files out of a chain of send streams without receiving it: the chain's
//! meta lanes say which `DRR_WRITE` payloads make up an object (a file's
//! inode number is its ZFS object number), the index says which data-lane
//! chunks hold them, and only those chunks are fetched.
//!
//! ```text
//! map_chain: every link's meta lane -> LaneParser -> ChainMap (wanted objects only)
//! extract:   ChainMap pieces -> chunk reads (read_chunks) -> FileSink -> file + BLAKE3
//! ```
//! This never decides alone that a file is right: the caller compares the
//! digest with the file manifest's, and anything the map cannot follow
//! (raw, compressed, embedded or deduplicated blocks, an unknown record) is
//! [`Plan::Unsupported`], for the caller's slow path. docs/design.md §17.9.

mod extents;
mod fetch;
mod map;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

pub use extents::{Piece, Source};
pub use fetch::Extracted;

use crate::error::{Error, Result};
use crate::format::manifest::Manifest;
use crate::id::Id;
use crate::progress::NoProgress;
use crate::repository::Repository;
use map::{LaneParser, ObjectState};

/// One link's data lane: its chunks with their offsets in the lane.
#[derive(Debug)]
struct DataLane {
    chunks: Vec<(Id, u64, u64)>,
    len: u64,
}

/// The wanted objects' blocks across a chain, and the data lanes' layout.
#[derive(Debug)]
pub struct ChainMap {
    objects: HashMap<u64, ObjectState>,
    lanes: Vec<DataLane>,
    unsupported: Option<String>,
    /// Stored bytes fetched for the meta lanes.
    pub meta_fetched: u64,
    name: String,
}

/// How a file can be rebuilt.
#[derive(Debug)]
pub enum Plan {
    /// From these pieces of the data lanes, zeros between them.
    Pieces(Vec<Piece>),
    /// Not from the lanes, for this reason.
    Unsupported(String),
}

/// Reads the meta lanes of `chain` (full first, each link's base the link
/// before, as [`read_chain`](crate::read_chain) checks) and maps the blocks
/// of the objects in `wanted`.
pub fn map_chain<'m>(
    repo: &Repository,
    chain: impl IntoIterator<Item = &'m Manifest>,
    wanted: &HashSet<u64>,
) -> Result<ChainMap> {
    let mut name = String::new();
    let mut objects = HashMap::new();
    let mut lanes = Vec::new();
    let mut unsupported = None;
    let mut meta_fetched = 0u64;
    for (i, m) in chain.into_iter().enumerate() {
        name = m.full_name();
        let link = u32::try_from(i).expect("fewer than 2^32 links");
        let mut p = LaneParser::new(link, m.base.is_none(), wanted, &mut objects);
        repo.packs()
            .read_chunks(&name, &m.meta_chunks, &mut p, &NoProgress)?;
        meta_fetched += stored_len(repo, &m.meta_chunks);
        let accounted = p.data_len();
        if let Some(why) = p.unsupported.take() {
            unsupported.get_or_insert(format!("{name} is {why}"));
        }
        let lane = data_lane(repo, m)?;
        if lane.len != accounted && unsupported.is_none() {
            unsupported = Some(format!(
                "the data lane of {name} holds {} bytes, its headers account for {accounted}",
                lane.len
            ));
        }
        lanes.push(lane);
    }
    Ok(ChainMap {
        objects,
        lanes,
        unsupported,
        meta_fetched,
        name,
    })
}

fn stored_len(repo: &Repository, chunks: &[Id]) -> u64 {
    chunks
        .iter()
        .filter_map(|c| repo.index().get(c))
        .map(|l| u64::from(l.length))
        .sum()
}

fn data_lane(repo: &Repository, m: &Manifest) -> Result<DataLane> {
    let mut chunks = Vec::with_capacity(m.data_chunks.len());
    let mut at = 0u64;
    for id in &m.data_chunks {
        let loc = repo.index().get(id).ok_or_else(|| Error::Missing {
            kind: "chunk",
            name: format!("{id} (needed by {})", m.full_name()),
        })?;
        chunks.push((*id, at, u64::from(loc.raw_len)));
        at += u64::from(loc.raw_len);
    }
    Ok(DataLane { chunks, len: at })
}

impl ChainMap {
    /// How to rebuild object `object` of `size` bytes.
    pub fn plan(&self, object: u64, size: u64) -> Plan {
        if let Some(why) = &self.unsupported {
            return Plan::Unsupported(why.clone());
        }
        if size == 0 {
            return Plan::Pieces(Vec::new());
        }
        match self.objects.get(&object) {
            None => Plan::Unsupported(format!(
                "object {object} is not in the streams of {}",
                self.name
            )),
            Some(st) => match &st.unsupported {
                Some(why) => Plan::Unsupported(format!("object {object} has {why}")),
                None => Plan::Pieces(st.extents.pieces(size)),
            },
        }
    }
}
