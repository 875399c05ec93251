//! A pack: many blobs in one object, with a sealed trailer listing them.
//!
//! ```text
//! offset        size
//!  0              4   magic "BKPK"
//!  4              1   pack format version (1)
//!  5              3   reserved, zero
//!  8              …   blobs, back to back (see blob.rs)
//!  T              n   sealed trailer (type PackTrailer, no context):
//!                       count u32 LE, then per blob:
//!                       chunk id (32) | offset u32 | length u32 | raw length u32
//!  T+n            4   n, u32 LE
//!  T+n+4          4   magic "BKPT"
//! ```
//! A pack's name is the BLAKE3 of its bytes, so a reader can verify it whole.

use super::u32_at;
use crate::crypto::{Keys, ObjectType};
use crate::id::Id;

/// Pack magic. Do not modify: part of format v1.
pub const MAGIC: &[u8; 4] = b"BKPK";
/// Trailer magic. Do not modify: part of format v1.
pub const TRAILER_MAGIC: &[u8; 4] = b"BKPT";
/// Length of the pack header.
pub const HEADER_LEN: usize = 8;
/// Length of the footer after the trailer.
pub const FOOTER_LEN: usize = 8;
const VERSION: u8 = 1;
const ENTRY_LEN: usize = 44;

/// Where a blob sits in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Chunk id.
    pub id: Id,
    /// Offset of the blob's header from the start of the pack.
    pub offset: u32,
    /// Stored length of the blob, header included.
    pub length: u32,
    /// Plaintext length.
    pub raw_len: u32,
}

/// Accumulates blobs into a pack in memory.
#[derive(Debug)]
pub struct PackWriter {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl Default for PackWriter {
    fn default() -> Self {
        PackWriter::new()
    }
}

impl PackWriter {
    /// An empty pack.
    pub fn new() -> PackWriter {
        let mut buf = Vec::new();
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&[VERSION, 0, 0, 0]);
        PackWriter {
            buf,
            entries: Vec::new(),
        }
    }

    /// Appends an encoded blob.
    pub fn add(&mut self, id: Id, blob: &[u8], raw_len: u32) {
        self.entries.push(Entry {
            id,
            offset: self.buf.len() as u32,
            length: blob.len() as u32,
            raw_len,
        });
        self.buf.extend_from_slice(blob);
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if no blob has been added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Seals the trailer and returns the pack's id, bytes and entries.
    pub fn finish(mut self, keys: &Keys) -> (Id, Vec<u8>, Vec<Entry>) {
        let mut t = Vec::with_capacity(4 + self.entries.len() * ENTRY_LEN);
        t.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            t.extend_from_slice(&e.id.0);
            t.extend_from_slice(&e.offset.to_le_bytes());
            t.extend_from_slice(&e.length.to_le_bytes());
            t.extend_from_slice(&e.raw_len.to_le_bytes());
        }
        let sealed = keys.seal(ObjectType::PackTrailer, &[], &t);
        self.buf.extend_from_slice(&sealed);
        self.buf
            .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(TRAILER_MAGIC);
        (Id::of_bytes(&self.buf), self.buf, self.entries)
    }
}

/// The size of a pack that holds exactly `entries` (header, blobs, sealed
/// trailer, footer): what the index implies about a pack's size.
pub fn implied_len(entries: &[Entry]) -> u64 {
    let blobs_end = entries
        .iter()
        .map(|e| u64::from(e.offset) + u64::from(e.length))
        .max()
        .unwrap_or(HEADER_LEN as u64);
    let trailer = 4 + entries.len() * ENTRY_LEN + crate::crypto::SEAL_OVERHEAD;
    blobs_end + (trailer + FOOTER_LEN) as u64
}

/// Reads the trailer length from a pack's last [`FOOTER_LEN`] bytes.
pub fn footer_trailer_len(footer: &[u8]) -> Result<u32, String> {
    if footer.len() != FOOTER_LEN || &footer[4..] != TRAILER_MAGIC {
        return Err("pack does not end with the trailer magic".into());
    }
    Ok(u32_at(footer, 0))
}

/// Opens a sealed trailer and checks every entry lies inside a pack whose
/// blobs end at `blobs_end`.
pub fn parse_trailer(keys: &Keys, sealed: &[u8], blobs_end: u64) -> Result<Vec<Entry>, String> {
    let t = keys
        .open(ObjectType::PackTrailer, &[], sealed)
        .ok_or("pack trailer fails authentication")?;
    parse_trailer_opened(&t, blobs_end)
}

/// The part of [`parse_trailer`] after the sealed box has opened: parses
/// the plaintext trailer `t` of a pack whose blobs end at `blobs_end`.
/// Where the parsing is, so the fuzz targets (`fuzz/`) call it directly.
pub fn parse_trailer_opened(t: &[u8], blobs_end: u64) -> Result<Vec<Entry>, String> {
    if t.len() < 4 {
        return Err("pack trailer is too short".into());
    }
    let n = u32_at(t, 0) as usize;
    if t.len() != 4 + n * ENTRY_LEN {
        return Err(format!(
            "pack trailer says {n} blobs but holds {} bytes",
            t.len()
        ));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at = 4 + i * ENTRY_LEN;
        let e = Entry {
            id: Id::from_slice(&t[at..at + 32]).expect("32 bytes"),
            offset: u32_at(t, at + 32),
            length: u32_at(t, at + 36),
            raw_len: u32_at(t, at + 40),
        };
        if (e.offset as usize) < HEADER_LEN || u64::from(e.offset) + u64::from(e.length) > blobs_end
        {
            return Err(format!("pack trailer entry {i} points outside the pack"));
        }
        out.push(e);
    }
    Ok(out)
}

/// Splits a whole pack into its entries, checking header, footer and trailer.
pub fn parse(keys: &Keys, pack: &[u8]) -> Result<Vec<Entry>, String> {
    if pack.len() < HEADER_LEN + FOOTER_LEN || &pack[..4] != MAGIC {
        return Err("pack does not start with the pack magic".into());
    }
    if pack[4] != VERSION || pack[5..8] != [0, 0, 0] {
        return Err(format!("unknown pack version {} or flags", pack[4]));
    }
    let tlen = footer_trailer_len(&pack[pack.len() - FOOTER_LEN..])? as usize;
    let Some(tstart) = (pack.len() - FOOTER_LEN)
        .checked_sub(tlen)
        .filter(|s| *s >= HEADER_LEN)
    else {
        return Err("pack trailer length exceeds the pack".into());
    };
    parse_trailer(keys, &pack[tstart..pack.len() - FOOTER_LEN], tstart as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob;

    #[test]
    fn pack_round_trip_and_damage() {
        let k = Keys::from_master([5; 32]);
        let mut w = PackWriter::new();
        let mut ids = vec![];
        for i in 0..3u8 {
            let data = vec![i; 1000];
            let id = k.chunk_id(&data);
            w.add(id, &blob::encode(&k, id, &data, 3), 1000);
            ids.push(id);
        }
        let (pid, bytes, entries) = w.finish(&k);
        assert_eq!(pid, Id::of_bytes(&bytes));
        let parsed = parse(&k, &bytes).unwrap();
        assert_eq!(parsed, entries);
        assert_eq!(implied_len(&entries), bytes.len() as u64);
        for e in &parsed {
            let b = &bytes[e.offset as usize..(e.offset + e.length) as usize];
            assert_eq!(blob::decode(&k, b, Some(&e.id)).unwrap().len(), 1000);
        }
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 1;
            // Damage anywhere is caught either by the structure or by a blob.
            let ok = parse(&k, &t).map(|es| {
                es.iter().all(|e| {
                    blob::decode(
                        &k,
                        &t[e.offset as usize..(e.offset + e.length) as usize],
                        Some(&e.id),
                    )
                    .is_ok()
                })
            });
            assert!(!matches!(ok, Ok(true)), "flip at {i} not detected");
        }
        for n in 0..bytes.len() {
            assert!(parse(&k, &bytes[..n]).is_err());
        }
    }
}
