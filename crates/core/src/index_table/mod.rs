//! The blob index on local disk: one sorted table per repository in the
//! cache, so that a command's memory does not grow with the repository.
//!
//! The repository's index is its segments (`format/index.rs`); the table is
//! a local, rebuildable copy of their union, sorted by blob id, read with
//! `pread` one bucket at a time. What stays in memory is its bucket table
//! (4 + 8 bytes per 8 blobs), its pack ids (32 bytes a pack) and the blobs of
//! segments it does not cover yet (the overlay, [`crate::format::index::Index`]).
//! A table names the segments it covers; it is used only while every one of
//! them still exists, so a prune or repair that rewrites the index makes the
//! next open build a new one (design §12.4).
//!
//! Layout (version 1; all integers little-endian):
//!
//! ```text
//!  0   8  magic "BKIXTAB1"
//!  8   4  bucket bits B (0..=24)
//! 12   4  zero
//! 16   8  row count N
//! 24   8  segment count S
//! 32   8  pack count P
//! 40  48N rows, sorted by id, unique: id (32) | pack u32 | offset u32 | length u32 | raw length u32
//!     32S the covered segments' ids
//!     32P pack ids (a row's pack number indexes them)
//!      4(2^B + 1) bucket starts: the first row whose id's top B bits are >= the bucket
//!      8(2^B) per bucket: the first 8 bytes of the BLAKE3 of its rows
//!     32  keyed BLAKE3 of the header and everything after the rows
//! ```
//!
//! Integrity: the MAC is keyed by a key derived from the repository's master
//! key, so a table of another repository or a damaged tail is refused at
//! open (and rebuilt); every bucket read is checked against its sum before
//! its rows are believed. A table that fails a check during use is removed
//! and its lookups report nothing: a ship then stores the chunk again, and a
//! restore reports the chunk missing until the next open builds a new table.

mod build;

#[cfg(test)]
mod tests;

pub(crate) use build::Builder;

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::format::index::BlobLoc;
use crate::format::u32_at;
use crate::id::Id;

/// Table magic, version 1.
pub(crate) const MAGIC: &[u8; 8] = b"BKIXTAB1";
/// Bytes before the first row.
pub(crate) const HEADER_LEN: u64 = 40;
/// Bytes of one row.
pub(crate) const ROW_LEN: usize = 48;
/// The most bucket bits: 16 Mi buckets, 192 MiB of bucket table.
pub(crate) const MAX_BITS: u32 = 24;
/// The table's file name in its directory.
pub(crate) const FILE_NAME: &str = "table";

/// The key of a table's MAC, from the repository's master key.
pub(crate) fn mac_key(master: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key("backup 2026-12 local index table v1", master)
}

/// One blob and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub id: Id,
    pub loc: BlobLoc,
}

impl Row {
    pub(crate) fn encode(&self, out: &mut [u8; ROW_LEN]) {
        out[..32].copy_from_slice(&self.id.0);
        out[32..36].copy_from_slice(&self.loc.pack.to_le_bytes());
        out[36..40].copy_from_slice(&self.loc.offset.to_le_bytes());
        out[40..44].copy_from_slice(&self.loc.length.to_le_bytes());
        out[44..48].copy_from_slice(&self.loc.raw_len.to_le_bytes());
    }

    pub(crate) fn decode(b: &[u8]) -> Row {
        Row {
            id: Id::from_slice(&b[..32]).expect("32 bytes"),
            loc: BlobLoc {
                pack: u32_at(b, 32),
                offset: u32_at(b, 36),
                length: u32_at(b, 40),
                raw_len: u32_at(b, 44),
            },
        }
    }
}

/// The bucket of `id` among `2^bits`.
pub(crate) fn bucket(id: &Id, bits: u32) -> usize {
    if bits == 0 {
        return 0;
    }
    (u32::from_be_bytes(id.0[..4].try_into().expect("4 bytes")) >> (32 - bits)) as usize
}

/// A bucket's checksum.
pub(crate) fn bucket_sum(rows: &[u8]) -> u64 {
    sum_of(blake3::hash(rows))
}

fn sum_of(h: blake3::Hash) -> u64 {
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// An open table.
#[derive(Debug)]
pub(crate) struct Table {
    file: File,
    path: PathBuf,
    rows: u64,
    bits: u32,
    starts: Vec<u32>,
    sums: Vec<u64>,
    segments: Vec<Id>,
    packs: u32,
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

impl Table {
    /// Opens the table at `path` and checks its header and tail; returns it
    /// with its pack ids.
    pub(crate) fn open(path: &Path, key: &[u8; 32]) -> io::Result<(Table, Vec<Id>)> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut head = [0u8; HEADER_LEN as usize];
        file.read_exact_at(&mut head, 0)?;
        if &head[..8] != MAGIC {
            return Err(bad("not an index table"));
        }
        let bits = u32_at(&head, 8);
        let at = |o: usize| u64::from_le_bytes(head[o..o + 8].try_into().expect("8 bytes"));
        let (rows, segs, packs) = (at(16), at(24), at(32));
        if bits > MAX_BITS || u32_at(&head, 12) != 0 || rows > u64::from(u32::MAX) {
            return Err(bad("index table header is out of range"));
        }
        if packs > u64::from(u32::MAX) {
            return Err(bad("index table counts too many packs"));
        }
        let buckets = 1u64 << bits;
        let tail = segs
            .checked_add(packs)
            .and_then(|n| n.checked_mul(32))
            .and_then(|n| n.checked_add((buckets + 1) * 4 + buckets * 8 + 32));
        let whole = tail.and_then(|t| (rows * ROW_LEN as u64).checked_add(HEADER_LEN + t)); // rows < 2^32: no overflow
        if whole != Some(len) {
            return Err(bad("index table has the wrong length"));
        }
        let tail_at = HEADER_LEN + rows * ROW_LEN as u64;
        let mut t = vec![0u8; tail.expect("checked") as usize];
        file.read_exact_at(&mut t, tail_at)?;
        let (body, mac) = t.split_at(t.len() - 32);
        let mut h = blake3::Hasher::new_keyed(key);
        h.update(&head);
        h.update(body);
        if h.finalize() != blake3::Hash::from_bytes(mac.try_into().expect("32 bytes")) {
            return Err(bad("index table fails authentication"));
        }
        let ids = |b: &[u8]| -> Vec<Id> {
            b.chunks_exact(32)
                .map(|c| Id::from_slice(c).expect("32 bytes"))
                .collect()
        };
        let (s, rest) = body.split_at(segs as usize * 32);
        let (p, rest) = rest.split_at(packs as usize * 32);
        let (st, sm) = rest.split_at((buckets as usize + 1) * 4);
        let starts: Vec<u32> = st.chunks_exact(4).map(|c| u32_at(c, 0)).collect();
        let sums = sm
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        if starts[0] != 0
            || u64::from(starts[buckets as usize]) != rows
            || starts.windows(2).any(|w| w[0] > w[1])
        {
            return Err(bad("index table's buckets are out of order"));
        }
        let table = Table {
            file,
            path: path.to_path_buf(),
            rows,
            bits,
            starts,
            sums,
            segments: ids(s),
            packs: packs as u32,
        };
        Ok((table, ids(p)))
    }

    /// The segments whose blobs the table holds.
    pub(crate) fn segments(&self) -> &[Id] {
        &self.segments
    }

    /// Rows.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Where the blob `id` is, if the table has it.
    pub(crate) fn get(&self, id: &Id) -> io::Result<Option<BlobLoc>> {
        let b = bucket(id, self.bits);
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        if lo == hi {
            return Ok(None);
        }
        let n = (hi - lo) * ROW_LEN;
        let mut stack = [0u8; 64 * ROW_LEN];
        let mut heap = Vec::new();
        let buf = if n <= stack.len() {
            &mut stack[..n]
        } else {
            heap.resize(n, 0);
            &mut heap[..]
        };
        self.file
            .read_exact_at(buf, HEADER_LEN + (lo * ROW_LEN) as u64)?;
        if bucket_sum(buf) != self.sums[b] {
            return Err(bad(format!("index table bucket {b} fails its checksum")));
        }
        let (mut l, mut h) = (0, hi - lo);
        let i = loop {
            if l == h {
                return Ok(None);
            }
            let m = (l + h) / 2;
            match buf[m * ROW_LEN..m * ROW_LEN + 32].cmp(&id.0[..]) {
                std::cmp::Ordering::Less => l = m + 1,
                std::cmp::Ordering::Greater => h = m,
                std::cmp::Ordering::Equal => break m,
            }
        };
        let row = Row::decode(&buf[i * ROW_LEN..(i + 1) * ROW_LEN]);
        if row.loc.pack >= self.packs {
            return Err(bad(format!("index table row of {id} names no pack")));
        }
        Ok(Some(row.loc))
    }

    /// Every row in order, each bucket checked against its sum as it ends.
    pub(crate) fn scan(&self) -> Scan<'_> {
        Scan {
            table: self,
            buf: Vec::new(),
            at: 0,
            next: 0,
            bucket: 0,
            hasher: blake3::Hasher::new(),
            failed: false,
        }
    }

    /// Removes the table's file (it failed a check): the next open builds
    /// another.
    pub(crate) fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Rows read in blocks of 1 MiB (see [`Table::scan`]).
pub(crate) struct Scan<'a> {
    table: &'a Table,
    buf: Vec<u8>,
    at: usize,
    next: u64,
    bucket: usize,
    hasher: blake3::Hasher,
    failed: bool,
}

impl Scan<'_> {
    /// Ends every bucket that ends before row `row`, checking its sum.
    fn close_buckets(&mut self, row: u64) -> io::Result<()> {
        let t = self.table;
        while self.bucket < t.sums.len() && u64::from(t.starts[self.bucket + 1]) <= row {
            let lo = t.starts[self.bucket];
            let sum = sum_of(self.hasher.finalize());
            if lo != t.starts[self.bucket + 1] && sum != t.sums[self.bucket] {
                return Err(bad(format!(
                    "index table bucket {} fails its checksum",
                    self.bucket
                )));
            }
            self.hasher.reset();
            self.bucket += 1;
        }
        Ok(())
    }

    fn step(&mut self) -> io::Result<Option<Row>> {
        let t = self.table;
        self.close_buckets(self.next)?;
        if self.next == t.rows {
            return Ok(None);
        }
        if self.at == self.buf.len() {
            let n = ((t.rows - self.next) as usize).min((1 << 20) / ROW_LEN);
            self.buf.resize(n * ROW_LEN, 0);
            t.file
                .read_exact_at(&mut self.buf, HEADER_LEN + self.next * ROW_LEN as u64)?;
            self.at = 0;
        }
        let r = &self.buf[self.at..self.at + ROW_LEN];
        self.hasher.update(r);
        let row = Row::decode(r);
        self.at += ROW_LEN;
        self.next += 1;
        Ok(Some(row))
    }
}

impl Iterator for Scan<'_> {
    type Item = io::Result<Row>;

    fn next(&mut self) -> Option<io::Result<Row>> {
        if self.failed {
            return None;
        }
        let r = self.step();
        // An error ends the scan.
        self.failed = r.is_err();
        r.transpose()
    }
}
