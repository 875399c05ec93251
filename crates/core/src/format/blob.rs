//! A blob: one chunk, compressed (or not) and sealed, with a plaintext header
//! that lets a lost index be rebuilt by scanning packs.
//!
//! ```text
//! offset size
//!  0      4   magic "BKB1"
//!  4      1   blob type (1 = stream data)
//!  5      1   compression (0 = none, 1 = zstd)
//!  6      2   reserved, zero
//!  8     32   chunk id (keyed BLAKE3 of the plaintext)
//! 40      4   plaintext length, u32 LE
//! 44      4   sealed length, u32 LE
//! 48      n   sealed box: nonce(24) || ciphertext || tag(16)
//! ```
//! The 48 header bytes are the context of the sealed box's associated data,
//! so none of them can be changed without the blob failing to open.

use super::u32_at;
use crate::crypto::{Keys, ObjectType, SEAL_OVERHEAD};
use crate::id::Id;

/// Blob magic. Do not modify: part of format v1.
pub const MAGIC: &[u8; 4] = b"BKB1";
/// Length of the plaintext header.
pub const HEADER_LEN: usize = 48;
/// The most plaintext a blob holds: the largest chunk FastCDC cuts
/// (`MAXIMUM_MAX`, 16 MiB), whatever a repository's chunker parameters.
/// A header saying more is refused before any buffer is sized from it.
pub const MAX_RAW_LEN: u32 = fastcdc::v2020::MAXIMUM_MAX;
/// Blob type of `zfs send` stream data.
pub const TYPE_DATA: u8 = 1;
const COMPRESSION_NONE: u8 = 0;
const COMPRESSION_ZSTD: u8 = 1;

/// The parsed header of a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Blob type.
    pub kind: u8,
    /// True if the plaintext was zstd-compressed before sealing.
    pub compressed: bool,
    /// Chunk id.
    pub id: Id,
    /// Plaintext length.
    pub raw_len: u32,
    /// Length of the sealed box that follows the header.
    pub sealed_len: u32,
}

impl Header {
    /// Parses and checks a header.
    pub fn parse(b: &[u8]) -> Result<Header, String> {
        if b.len() < HEADER_LEN {
            return Err(format!(
                "blob header is {} bytes, expected {HEADER_LEN}",
                b.len()
            ));
        }
        if &b[..4] != MAGIC {
            return Err("blob does not start with the blob magic".into());
        }
        let compressed = match b[5] {
            COMPRESSION_NONE => false,
            COMPRESSION_ZSTD => true,
            c => return Err(format!("unknown compression {c}")),
        };
        if b[6..8] != [0, 0] {
            return Err("blob header has non-zero reserved bytes".into());
        }
        if b[4] != TYPE_DATA {
            return Err(format!("unknown blob type {}", b[4]));
        }
        let (raw_len, sealed_len) = (u32_at(b, 40), u32_at(b, 44));
        if raw_len > MAX_RAW_LEN {
            return Err(format!(
                "blob header says {raw_len} plaintext bytes, more than a chunk holds ({MAX_RAW_LEN})"
            ));
        }
        // Compression is kept only when it makes the payload smaller.
        if u64::from(sealed_len) > u64::from(raw_len) + SEAL_OVERHEAD as u64 {
            return Err(format!(
                "blob header says {sealed_len} sealed bytes for {raw_len} plaintext bytes"
            ));
        }
        Ok(Header {
            kind: b[4],
            compressed,
            id: Id::from_slice(&b[8..40]).expect("32 bytes"),
            raw_len,
            sealed_len,
        })
    }

    /// Total stored length of the blob.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.sealed_len as usize
    }

    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(MAGIC);
        h[4] = self.kind;
        h[5] = if self.compressed {
            COMPRESSION_ZSTD
        } else {
            COMPRESSION_NONE
        };
        h[8..40].copy_from_slice(&self.id.0);
        h[40..44].copy_from_slice(&self.raw_len.to_le_bytes());
        h[44..48].copy_from_slice(&self.sealed_len.to_le_bytes());
        h
    }
}

/// Bytes of each of the three samples [`looks_incompressible`] tries.
const SAMPLE: usize = 4096;

/// True when three samples of `data` (its start, middle and end) each
/// shrink by less than 2% at zstd's fastest level: random or already
/// compressed data, where compressing the whole chunk at the repository's
/// level would cost its CPU for nothing. Chunks under 16 KiB are always
/// tried whole.
fn looks_incompressible(data: &[u8]) -> bool {
    if data.len() < 4 * SAMPLE {
        return false;
    }
    let mid = (data.len() - SAMPLE) / 2;
    [0, mid, data.len() - SAMPLE].iter().all(|&at| {
        let sample = &data[at..at + SAMPLE];
        zstd::bulk::compress(sample, 1).map_or(true, |c| c.len() * 100 >= sample.len() * 98)
    })
}

/// Compresses (when that helps: not a chunk that
/// [looks incompressible](looks_incompressible)) and seals a chunk whose id
/// is `id`.
pub fn encode(keys: &Keys, id: Id, data: &[u8], zstd_level: i32) -> Vec<u8> {
    let compressed = (!looks_incompressible(data))
        .then(|| zstd::bulk::compress(data, zstd_level).ok())
        .flatten()
        .filter(|c| c.len() < data.len());
    let (payload, is_compressed) = match &compressed {
        Some(c) => (c.as_slice(), true),
        None => (data, false),
    };
    let sealed_len = (payload.len() + SEAL_OVERHEAD) as u32;
    let header = Header {
        kind: TYPE_DATA,
        compressed: is_compressed,
        id,
        raw_len: data.len() as u32,
        sealed_len,
    }
    .to_bytes();
    let mut out = Vec::with_capacity(HEADER_LEN + sealed_len as usize);
    out.extend_from_slice(&header);
    keys.seal_into(ObjectType::Blob, &header, payload, &mut out);
    out
}

/// Opens a stored blob, checks its lengths, and verifies that the plaintext
/// hashes to the id in its header (and to `expect` if given).
pub fn decode(keys: &Keys, b: &[u8], expect: Option<&Id>) -> Result<Vec<u8>, String> {
    let h = Header::parse(b)?;
    if let Some(e) = expect {
        if *e != h.id {
            return Err(format!("holds chunk {} where {} was expected", h.id, e));
        }
    }
    if b.len() != h.total_len() {
        return Err(format!(
            "blob is {} bytes, its header says {}",
            b.len(),
            h.total_len()
        ));
    }
    let payload = keys
        .open(ObjectType::Blob, &b[..HEADER_LEN], &b[HEADER_LEN..])
        .ok_or_else(|| format!("chunk {} fails authentication", h.id))?;
    decode_opened(keys, &h, payload)
}

/// The part of [`decode`] after the sealed box has opened: decompresses
/// `payload` (what the box held) as `h` says, and checks its length and
/// that it hashes to `h.id`. Where the parsing is, so the fuzz targets
/// (`fuzz/`) call it directly; nothing else should.
pub fn decode_opened(keys: &Keys, h: &Header, payload: Vec<u8>) -> Result<Vec<u8>, String> {
    let data = if h.compressed {
        zstd::bulk::decompress(&payload, h.raw_len as usize)
            .map_err(|e| format!("chunk {} does not decompress: {e}", h.id))?
    } else {
        payload
    };
    if data.len() != h.raw_len as usize {
        return Err(format!(
            "chunk {} has {} bytes, expected {}",
            h.id,
            data.len(),
            h.raw_len
        ));
    }
    if keys.chunk_id(&data) != h.id {
        return Err(format!("chunk {} does not hash to its id", h.id));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_compressible_and_not() {
        let k = Keys::from_master([3; 32]);
        for data in [
            vec![0u8; 100_000],
            (0..5000u32)
                .flat_map(|i| i.wrapping_mul(2654435761).to_le_bytes())
                .collect(),
        ] {
            let id = k.chunk_id(&data);
            let b = encode(&k, id, &data, 3);
            assert_eq!(decode(&k, &b, Some(&id)).unwrap(), data);
        }
        let zero = vec![0u8; 100_000];
        assert!(encode(&k, k.chunk_id(&zero), &zero, 3).len() < 1000);
    }

    #[test]
    fn random_chunks_are_stored_raw_and_a_compressible_middle_still_compresses() {
        let k = Keys::from_master([3; 32]);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let random: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(looks_incompressible(&random));
        let b = encode(&k, k.chunk_id(&random), &random, 3);
        assert!(!Header::parse(&b).unwrap().compressed);
        assert_eq!(decode(&k, &b, None).unwrap(), random);
        // Random at both ends, text in the middle: the middle sample says
        // it is worth compressing.
        let mut mixed = random.clone();
        let text = b"GET /index.html HTTP/1.1 200 ".repeat(3000);
        mixed[50_000..50_000 + text.len()].copy_from_slice(&text);
        assert!(!looks_incompressible(&mixed));
        let b = encode(&k, k.chunk_id(&mixed), &mixed, 3);
        assert!(Header::parse(&b).unwrap().compressed);
        assert!(b.len() < 140_000, "{}", b.len());
        assert_eq!(decode(&k, &b, None).unwrap(), mixed);
    }

    /// A header whose lengths are set to `raw` and `sealed`.
    fn header_with(raw: u32, sealed: u32) -> [u8; HEADER_LEN] {
        let mut h = Header {
            kind: TYPE_DATA,
            compressed: true,
            id: Id([7; 32]),
            raw_len: 0,
            sealed_len: 0,
        }
        .to_bytes();
        h[40..44].copy_from_slice(&raw.to_le_bytes());
        h[44..48].copy_from_slice(&sealed.to_le_bytes());
        h
    }

    #[test]
    fn a_header_claiming_more_plaintext_than_a_chunk_holds_is_refused() {
        // Decompressing sized its buffer from this length: 4 GiB asked for
        // by a 48-byte header.
        let e = Header::parse(&header_with(u32::MAX, 100)).unwrap_err();
        assert!(e.contains("more than a chunk holds"), "{e}");
        assert!(Header::parse(&header_with(MAX_RAW_LEN, 100)).is_ok());
        assert!(Header::parse(&header_with(MAX_RAW_LEN + 1, 100)).is_err());
    }

    #[test]
    fn a_header_claiming_more_sealed_than_plaintext_bytes_is_refused() {
        let overhead = SEAL_OVERHEAD as u32;
        assert!(Header::parse(&header_with(100, 100 + overhead)).is_ok());
        let e = Header::parse(&header_with(100, 101 + overhead)).unwrap_err();
        assert!(e.contains("sealed bytes"), "{e}");
        assert!(Header::parse(&header_with(0, u32::MAX)).is_err());
    }

    #[test]
    fn every_flipped_byte_is_an_error_never_a_panic() {
        let k = Keys::from_master([3; 32]);
        let data = b"some chunk data".repeat(10);
        let b = encode(&k, k.chunk_id(&data), &data, 3);
        for i in 0..b.len() {
            let mut t = b.clone();
            t[i] ^= 0x40;
            assert!(decode(&k, &t, None).is_err(), "flip at {i} not detected");
        }
        for n in 0..b.len() {
            assert!(decode(&k, &b[..n], None).is_err());
        }
    }
}
