//! The `records` layout: a `zfs send` stream split into two lanes so that
//! block contents deduplicate across snapshots.
//!
//! A send stream is a sequence of 312-byte record headers, each followed by
//! a payload. Every header carries the guid of the snapshot being sent (and
//! on OpenZFS a running checksum of the stream), so cut as one byte stream no
//! chunk of one snapshot's full would equal a chunk of another's. Here the
//! *meta* lane receives every header and the payloads of all records but
//! `DRR_WRITE`; the *data* lane receives `DRR_WRITE` payloads: the file
//! system's blocks, identical from one snapshot to the next.
//!
//! The split is reversible by construction: the joiner reads each header
//! from the meta lane and asks [`classify`] — the same function, on the same
//! bytes — where its payload is and how long it is. A header [`classify`]
//! misreads (an unknown record type, a dialect's quirk) therefore costs only
//! deduplication, never correctness, and the stream digest checked at
//! restore covers the reassembled stream anyway.

use std::io::{self, Read, Write};

/// Length of a `dmu_replay_record` header.
pub const RECORD_LEN: usize = 312;
pub(crate) const BEGIN_MAGIC: u64 = 0x2F5B_ACBAC;

/// Which lane a payload belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Headers and small payloads.
    Meta,
    /// `DRR_WRITE` block payloads.
    Data,
}

/// True if the stream's records are in the other byte order, judged from
/// the first record's BEGIN magic.
pub(crate) fn swapped(first: &[u8]) -> bool {
    let m = u64::from_le_bytes(first[8..16].try_into().expect("8 bytes"));
    m != BEGIN_MAGIC && m.swap_bytes() == BEGIN_MAGIC
}

/// The 4-byte field at `at` of header `h`, in the stream's byte order.
pub(crate) fn u32_at(h: &[u8], at: usize, swap: bool) -> u64 {
    let v = u32::from_le_bytes(h[at..at + 4].try_into().expect("4 bytes"));
    u64::from(if swap { v.swap_bytes() } else { v })
}

/// The 8-byte field at `at` of header `h`, in the stream's byte order.
pub(crate) fn u64_at(h: &[u8], at: usize, swap: bool) -> u64 {
    let v = u64::from_le_bytes(h[at..at + 8].try_into().expect("8 bytes"));
    if swap {
        v.swap_bytes()
    } else {
        v
    }
}

fn round8(n: u64) -> u64 {
    n.saturating_add(7) & !7
}

/// `DMU_BACKUP_FEATURE_RAW`: blocks as stored, encrypted.
const FEATURE_RAW: u64 = 1 << 24;
/// `DMU_COMPOUNDSTREAM`: a `-R` stream of several datasets.
const COMPOUND: u64 = 2;

/// Why a stream whose `DRR_BEGIN` is `h` cannot be read record by record
/// for files' blocks (restore --path, the stream's file digests): no magic,
/// a raw (`-w`) or a compound (`-R`) stream; the first that applies.
pub(crate) fn begin_unsupported(h: &[u8], swap: bool) -> Option<&'static str> {
    const U: usize = 8;
    let info = u64_at(h, U + 8, swap);
    if u64_at(h, U, swap) != BEGIN_MAGIC {
        Some("a stream whose BEGIN record has no magic")
    } else if (info >> 2) & ((1 << 30) - 1) & FEATURE_RAW != 0 {
        Some("a raw (-w) stream")
    } else if info & 3 == COMPOUND {
        Some("a compound (-R) stream")
    } else {
        None
    }
}

/// Where the payload after header `h` goes and how long it is. Offsets are
/// those of `dmu_replay_record_t` (the union starts at byte 8), the same in
/// zfs-fuse 0.7 and OpenZFS 2.x for every field read here; fields OpenZFS
/// added sit in what zfs-fuse left as zero padding.
pub fn classify(h: &[u8], swap: bool) -> (Lane, u64) {
    const U: usize = 8; // start of the union
    match u32_at(h, 0, swap) {
        // DRR_BEGIN: drr_payloadlen (a packed nvlist, for -R/-p and others).
        0 => (Lane::Meta, u32_at(h, 4, swap)),
        // DRR_OBJECT: drr_raw_bonuslen if set (raw sends), else bonuslen rounded to 8.
        1 => {
            let raw = u32_at(h, U + 28, swap);
            let len = if raw != 0 {
                raw
            } else {
                round8(u32_at(h, U + 20, swap))
            };
            (Lane::Meta, len)
        }
        // DRR_WRITE: drr_compressed_size if drr_compressiontype != 0, else drr_logical_size.
        3 => {
            let len = if h[U + 42] != 0 {
                u64_at(h, U + 88, swap)
            } else {
                u64_at(h, U + 24, swap)
            };
            (Lane::Data, len)
        }
        // DRR_SPILL: drr_compressed_size if non-zero, else drr_length
        // (OpenZFS's DRR_SPILL_PAYLOAD_SIZE).
        7 => {
            let compressed = u64_at(h, U + 32, swap);
            let len = if compressed != 0 {
                compressed
            } else {
                u64_at(h, U + 8, swap)
            };
            (Lane::Meta, len)
        }
        // DRR_WRITE_EMBEDDED: drr_psize rounded to 8.
        8 => (Lane::Meta, round8(u32_at(h, U + 44, swap))),
        // FREEOBJECTS, FREE, END, WRITE_BYREF, OBJECT_RANGE, REDACT: none.
        _ => (Lane::Meta, 0),
    }
}

/// Splits a stream pushed through it into the two lanes.
#[derive(Debug)]
pub struct Splitter {
    header: Vec<u8>,
    lane: Lane,
    remaining: u64,
    swap: Option<bool>,
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter {
            header: Vec::with_capacity(RECORD_LEN),
            lane: Lane::Meta,
            remaining: 0,
            swap: None,
        }
    }
}

impl Splitter {
    /// Feeds the next bytes of the stream; `emit` receives them by lane.
    pub fn feed<E>(&mut self, mut data: &[u8], emit: &mut E) -> io::Result<()>
    where
        E: FnMut(Lane, &[u8]) -> io::Result<()>,
    {
        while !data.is_empty() {
            if self.remaining > 0 {
                let n = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                emit(self.lane, &data[..n])?;
                self.remaining -= n as u64;
                data = &data[n..];
                continue;
            }
            let n = (RECORD_LEN - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.header.len() == RECORD_LEN {
                emit(Lane::Meta, &self.header)?;
                let swap = *self.swap.get_or_insert_with(|| swapped(&self.header));
                (self.lane, self.remaining) = classify(&self.header, swap);
                self.header.clear();
            }
        }
        Ok(())
    }

    /// Ends the stream: a partial header left over goes to the meta lane.
    pub fn finish<E>(self, emit: &mut E) -> io::Result<()>
    where
        E: FnMut(Lane, &[u8]) -> io::Result<()>,
    {
        if self.header.is_empty() {
            Ok(())
        } else {
            emit(Lane::Meta, &self.header)
        }
    }
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reassembles the stream from its lanes into `out`.
pub fn join(meta: &mut dyn Read, data: &mut dyn Read, out: &mut dyn Write) -> io::Result<()> {
    let mut header = [0u8; RECORD_LEN];
    let mut swap = None;
    loop {
        let n = read_up_to(meta, &mut header)?;
        out.write_all(&header[..n])?;
        if n < RECORD_LEN {
            break;
        }
        let s = *swap.get_or_insert_with(|| swapped(&header));
        let (lane, len) = classify(&header, s);
        let src: &mut dyn Read = match lane {
            Lane::Meta => &mut *meta,
            Lane::Data => &mut *data,
        };
        io::copy(&mut src.take(len), out)?;
    }
    let mut extra = [0u8; 1];
    if read_up_to(data, &mut extra)? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the data lane holds bytes no record header accounts for",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(stream: &[u8], piece: usize) -> (Vec<u8>, Vec<u8>) {
        let (mut meta, mut data) = (Vec::new(), Vec::new());
        let mut s = Splitter::default();
        let mut emit = |lane: Lane, b: &[u8]| {
            match lane {
                Lane::Meta => meta.extend_from_slice(b),
                Lane::Data => data.extend_from_slice(b),
            }
            Ok(())
        };
        for p in stream.chunks(piece.max(1)) {
            s.feed(p, &mut emit).unwrap();
        }
        s.finish(&mut emit).unwrap();
        (meta, data)
    }

    fn joined(meta: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        join(&mut &meta[..], &mut &data[..], &mut out).unwrap();
        out
    }

    fn record(ty: u32, f: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut r = vec![0u8; RECORD_LEN];
        r[..4].copy_from_slice(&ty.to_le_bytes());
        f(&mut r);
        r
    }

    /// BEGIN, OBJECT with a 13-byte bonus, WRITE of 4 KiB, FREE, END.
    fn stream(toguid: u8, block: &[u8]) -> Vec<u8> {
        let mut s = record(0, |r| {
            r[8..16].copy_from_slice(&BEGIN_MAGIC.to_le_bytes());
            r[40] = toguid;
        });
        s.extend(record(1, |r| {
            r[28..32].copy_from_slice(&13u32.to_le_bytes());
            r[40] = toguid;
        }));
        s.extend([7u8; 16]); // 13 rounded up to 8
        s.extend(record(3, |r| {
            r[32..40].copy_from_slice(&(block.len() as u64).to_le_bytes());
            r[40] = toguid;
        }));
        s.extend_from_slice(block);
        s.extend(record(4, |r| r[40] = toguid));
        s.extend(record(5, |r| r[40] = toguid));
        s
    }

    #[test]
    fn blocks_go_to_the_data_lane_and_headers_do_not() {
        let block = vec![0xAB; 4096];
        let (meta, data) = split(&stream(1, &block), 100);
        assert_eq!(data, block);
        assert_eq!(meta.len(), 5 * RECORD_LEN + 16);
        // Two snapshots of the same blocks: same data lane, different meta lane.
        let (meta2, data2) = split(&stream(2, &block), 7);
        assert_eq!(data2, data);
        assert_ne!(meta2, meta);
    }

    #[test]
    fn join_inverts_split_for_any_bytes_and_any_cut() {
        let block = vec![0x5A; 5000];
        let good = stream(3, &block);
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut noise = |n: usize| -> Vec<u8> {
            seed += 2; // pseudo_random sets the low bit: step by 2 for new streams
            crate::test_support::pseudo_random(n, seed)
        };
        let mut cases = vec![good.clone(), Vec::new(), vec![1, 2, 3]];
        for cut in [1, 311, 312, 313, 700, good.len() - 1] {
            cases.push(good[..cut].to_vec());
        }
        for n in [100, 312, 5000, 100_000] {
            cases.push(noise(n));
            let mut g = good.clone();
            g.extend(noise(n));
            cases.push(g);
        }
        // A WRITE header claiming a huge payload, then the stream ends.
        let mut huge = good[..RECORD_LEN].to_vec();
        huge.extend(record(3, |r| {
            r[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        }));
        huge.extend([1u8; 10]);
        cases.push(huge);
        for c in &cases {
            for piece in [1, 13, 312, 4096, 1 << 20] {
                let (meta, data) = split(c, piece);
                assert_eq!(&joined(&meta, &data), c, "len {} piece {piece}", c.len());
            }
        }
    }

    #[test]
    fn byte_swapped_streams_are_read_in_their_order() {
        let mut h = vec![0u8; RECORD_LEN];
        h[..4].copy_from_slice(&3u32.to_be_bytes());
        h[32..40].copy_from_slice(&4096u64.to_be_bytes());
        assert_eq!(classify(&h, true), (Lane::Data, 4096));
        let mut begin = vec![0u8; RECORD_LEN];
        begin[8..16].copy_from_slice(&BEGIN_MAGIC.to_be_bytes());
        assert!(swapped(&begin));
    }

    #[test]
    fn trailing_data_lane_bytes_are_an_error() {
        let (meta, mut data) = split(&stream(1, &[1u8; 64]), 50);
        data.push(0);
        let mut out = Vec::new();
        assert!(join(&mut &meta[..], &mut &data[..], &mut out).is_err());
    }
}
