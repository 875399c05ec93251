//! Index segments: which pack holds each blob, and where.
//!
//! A segment is written once and never changed; [`Index`] is the union of
//! all segments. Stored form: a sealed box (type Index, no
//! context) around zstd of:
//!
//! ```text
//!  0   4  magic "BKIX"
//!  4   4  pack count u32 LE
//!  then per pack: pack id (32) | blob count u32 LE |
//!                 per blob: chunk id (32) | offset u32 | length u32 | raw length u32
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

use super::pack::Entry;
use super::{inflate, u32_at, MAX_INFLATED};
use crate::crypto::{Keys, ObjectType};
use crate::id::Id;
use crate::index_table::{Row, Table};

/// Index segment magic. Do not modify: part of format v1.
pub const MAGIC: &[u8; 4] = b"BKIX";

/// The blobs of one pack, as listed in a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackBlobs {
    /// The pack's id.
    pub pack: Id,
    /// Its blobs.
    pub entries: Vec<Entry>,
}

/// Serialises and seals a segment.
pub fn encode_segment(keys: &Keys, packs: &[PackBlobs]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&(packs.len() as u32).to_le_bytes());
    for p in packs {
        b.extend_from_slice(&p.pack.0);
        b.extend_from_slice(&(p.entries.len() as u32).to_le_bytes());
        for e in &p.entries {
            b.extend_from_slice(&e.id.0);
            b.extend_from_slice(&e.offset.to_le_bytes());
            b.extend_from_slice(&e.length.to_le_bytes());
            b.extend_from_slice(&e.raw_len.to_le_bytes());
        }
    }
    let z = zstd::bulk::compress(&b, 3).expect("zstd compresses in memory");
    keys.seal(ObjectType::Index, &[], &z)
}

/// Opens and parses a segment.
pub fn decode_segment(keys: &Keys, sealed: &[u8]) -> Result<Vec<PackBlobs>, String> {
    let z = keys
        .open(ObjectType::Index, &[], sealed)
        .ok_or("index segment fails authentication")?;
    decode_segment_opened(&z)
}

/// The part of [`decode_segment`] after the sealed box has opened:
/// decompresses `z` and parses it ([`parse_segment`]). Where the parsing
/// is, so the fuzz targets (`fuzz/`) call it directly.
pub fn decode_segment_opened(z: &[u8]) -> Result<Vec<PackBlobs>, String> {
    let b = inflate(z, MAX_INFLATED).map_err(|e| format!("index segment {e}"))?;
    parse_segment(&b)
}

/// Parses a decompressed segment: magic, packs, their blobs, no trailing
/// bytes.
pub fn parse_segment(b: &[u8]) -> Result<Vec<PackBlobs>, String> {
    let short = || "index segment is truncated".to_string();
    if b.len() < 8 || &b[..4] != MAGIC {
        return Err("index segment does not start with the index magic".into());
    }
    let npacks = u32_at(b, 4) as usize;
    let mut at = 8;
    // Each pack takes at least 36 bytes: a count the bytes cannot hold
    // reserves nothing for it.
    let mut out = Vec::with_capacity(npacks.min((b.len() - 8) / 36));
    for _ in 0..npacks {
        if b.len() < at + 36 {
            return Err(short());
        }
        let pack = Id::from_slice(&b[at..at + 32]).expect("32 bytes");
        let n = u32_at(b, at + 32) as usize;
        at += 36;
        if b.len() < at + n * 44 {
            return Err(short());
        }
        let entries = (0..n)
            .map(|i| {
                let o = at + i * 44;
                Entry {
                    id: Id::from_slice(&b[o..o + 32]).expect("32 bytes"),
                    offset: u32_at(b, o + 32),
                    length: u32_at(b, o + 36),
                    raw_len: u32_at(b, o + 40),
                }
            })
            .collect();
        at += n * 44;
        out.push(PackBlobs { pack, entries });
    }
    if at != b.len() {
        return Err("index segment has trailing bytes".into());
    }
    Ok(out)
}

/// Where a blob is: pack number (into [`Index::pack_id`]), offset, lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLoc {
    /// Index of the pack in the index's pack table.
    pub pack: u32,
    /// Offset in the pack.
    pub offset: u32,
    /// Stored length.
    pub length: u32,
    /// Plaintext length.
    pub raw_len: u32,
}

/// The union of all index segments: a sorted table on local disk when the
/// repository was opened with a cache ([`crate::index_table`]), and in
/// memory the blobs of segments the table does not cover (the overlay,
/// about 80 bytes a blob), which is all of them without a cache.
#[derive(Debug, Default)]
pub struct Index {
    packs: Vec<Id>,
    pack_numbers: HashMap<Id, u32>,
    table: Option<Table>,
    blobs: HashMap<Id, BlobLoc>,
    table_failure: OnceLock<String>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// An index of `table`, whose pack numbers index `packs`, and `rows`
    /// (numbered in the same `packs`) in memory beside it.
    pub(crate) fn with_table(
        table: Table,
        packs: Vec<Id>,
        pack_numbers: HashMap<Id, u32>,
        rows: Vec<Row>,
    ) -> Index {
        let mut index = Index {
            packs,
            pack_numbers,
            table: Some(table),
            ..Index::default()
        };
        for r in rows {
            if index.get(&r.id).is_none() {
                index.blobs.insert(r.id, r.loc);
            }
        }
        index
    }

    /// Pack numbers by pack id, for a table that has only the ids.
    pub(crate) fn numbers(packs: &[Id]) -> HashMap<Id, u32> {
        packs
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i as u32))
            .collect()
    }

    /// Adds the blobs of one pack. A blob already known keeps its first
    /// location (any copy is as good as another).
    pub fn add_pack(&mut self, p: &PackBlobs) {
        let next = self.packs.len() as u32;
        let n = *self.pack_numbers.entry(p.pack).or_insert_with(|| {
            self.packs.push(p.pack);
            next
        });
        for e in &p.entries {
            if self.in_table(&e.id).is_some() {
                continue;
            }
            self.blobs.entry(e.id).or_insert(BlobLoc {
                pack: n,
                offset: e.offset,
                length: e.length,
                raw_len: e.raw_len,
            });
        }
    }

    /// Where a blob is.
    pub fn get(&self, id: &Id) -> Option<BlobLoc> {
        self.blobs.get(id).copied().or_else(|| self.in_table(id))
    }

    fn in_table(&self, id: &Id) -> Option<BlobLoc> {
        let t = self.table.as_ref()?;
        match t.get(id) {
            Ok(loc) => loc,
            Err(e) => {
                // Remembered, and the file removed so the next open builds
                // another; until then the blob counts as absent.
                if self.table_failure.set(format!("{e}")).is_ok() {
                    t.discard();
                }
                None
            }
        }
    }

    /// True if the blob is stored.
    pub fn contains(&self, id: &Id) -> bool {
        self.get(id).is_some()
    }

    /// The id of pack number `n`.
    pub fn pack_id(&self, n: u32) -> Id {
        self.packs[n as usize]
    }

    /// Every pack the index names.
    pub fn packs(&self) -> &[Id] {
        &self.packs
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.table.as_ref().map_or(0, |t| t.rows() as usize) + self.blobs.len()
    }

    /// True if no blob is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blobs held in memory, beside the table.
    pub fn in_memory(&self) -> usize {
        self.blobs.len()
    }

    /// True if the index has a table on local disk.
    pub fn has_table(&self) -> bool {
        self.table.is_some()
    }

    /// Why the table failed a check during use, if it did (its file is
    /// then gone, and the next open builds another).
    pub fn table_failure(&self) -> Option<&str> {
        self.table_failure.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_counting_more_packs_than_it_holds_is_truncated() {
        // Eight bytes that count 4 billion packs: once 65,536 were
        // reserved (3.5 MiB) before the bytes were looked at.
        let mut b = MAGIC.to_vec();
        b.extend(u32::MAX.to_le_bytes());
        assert_eq!(parse_segment(&b).unwrap_err(), "index segment is truncated");
        b.extend([0; 36]);
        assert!(parse_segment(&b).is_err());
    }

    #[test]
    fn segment_round_trip_and_damage() {
        let k = Keys::from_master([9; 32]);
        let packs = vec![PackBlobs {
            pack: Id([1; 32]),
            entries: vec![Entry {
                id: Id([2; 32]),
                offset: 8,
                length: 100,
                raw_len: 200,
            }],
        }];
        let s = encode_segment(&k, &packs);
        assert_eq!(decode_segment(&k, &s).unwrap(), packs);
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 1;
            assert!(decode_segment(&k, &t).is_err());
        }
        let mut idx = Index::new();
        idx.add_pack(&packs[0]);
        assert_eq!(idx.get(&Id([2; 32])).unwrap().raw_len, 200);
        assert_eq!(idx.pack_id(0), Id([1; 32]));
    }
}
