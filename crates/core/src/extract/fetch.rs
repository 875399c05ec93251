//! Fetching a file's pieces: the data-lane chunks that hold them, each
//! once per run of pieces, written into the file at their offsets and
//! hashed in file order (zeros for the gaps), so the caller can compare
//! the BLAKE3 with the file manifest's before the file is used.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use super::extents::Piece;
use super::ChainMap;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::progress::NoProgress;
use crate::repository::Repository;

/// What rebuilding one file did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// BLAKE3 of the file's `size` bytes as written.
    pub blake3: [u8; 32],
    /// Stored bytes of the chunks fetched.
    pub fetched: u64,
}

/// One chunk to fetch and what to copy out of it: `(offset in the chunk,
/// length, offset in the file)`.
struct ChunkRead {
    id: Id,
    len: u64,
    copies: Vec<(u64, u64, u64)>,
}

impl ChainMap {
    /// Writes the `size` bytes that `pieces` (from [`ChainMap::plan`]) make
    /// into `out`, a new empty file; `what` names the file in errors.
    pub fn extract(
        &self,
        repo: &Repository,
        pieces: &[Piece],
        size: u64,
        out: &File,
        what: &str,
    ) -> Result<Extracted> {
        let x = self.fetch_into(repo, pieces, 0, size, out, what)?;
        out.set_len(size)
            .map_err(|e| Error::io(format!("writing {what}"), e))?;
        Ok(x)
    }

    /// Writes bytes `start..end` of the file that `pieces` make into
    /// `out` at their offsets, fetching only the chunks that hold them (a
    /// big file read on demand, as `backup mount` does). Gaps are not
    /// written: `out` must read as zeros there (a sparse file of the
    /// file's size). The BLAKE3 returned is of `start..end` alone.
    pub fn extract_range(
        &self,
        repo: &Repository,
        pieces: &[Piece],
        start: u64,
        end: u64,
        out: &File,
        what: &str,
    ) -> Result<Extracted> {
        let clipped: Vec<Piece> = pieces
            .iter()
            .filter_map(|p| {
                let from = p.file_off.max(start);
                let to = (p.file_off + p.len).min(end);
                (from < to).then(|| Piece {
                    file_off: from,
                    len: to - from,
                    source: p.source.advanced(from - p.file_off),
                })
            })
            .collect();
        self.fetch_into(repo, &clipped, start, end, out, what)
    }

    /// Fetches the chunks of `pieces` (all within `start..end`, in file
    /// order) and writes them into `out`, hashing `start..end`.
    fn fetch_into(
        &self,
        repo: &Repository,
        pieces: &[Piece],
        start: u64,
        end: u64,
        out: &File,
        what: &str,
    ) -> Result<Extracted> {
        let reads = self.chunk_reads(pieces, what)?;
        let ids: Vec<Id> = reads.iter().map(|r| r.id).collect();
        let fetched = ids
            .iter()
            .filter_map(|c| repo.index().get(c))
            .map(|l| u64::from(l.length))
            .sum();
        let mut sink = FileSink {
            reads: &reads,
            cur: 0,
            buf: Vec::new(),
            out,
            pos: start,
            hasher: blake3::Hasher::new(),
        };
        repo.packs()
            .read_chunks(what, &ids, &mut sink, &NoProgress)?;
        sink.zeros_to(end)
            .map_err(|e| Error::io(format!("writing {what}"), e))?;
        Ok(Extracted {
            blake3: *sink.hasher.finalize().as_bytes(),
            fetched,
        })
    }

    fn chunk_reads(&self, pieces: &[Piece], what: &str) -> Result<Vec<ChunkRead>> {
        let mut reads: Vec<(u32, usize, ChunkRead)> = Vec::new();
        for p in pieces {
            let lane = &self.lanes[p.source.link as usize];
            let (mut off, end) = (p.source.lane_off, p.source.lane_off + p.len);
            if end > lane.len {
                return Err(Error::corrupt(
                    what.to_string(),
                    format!(
                        "its blocks lie at bytes {off}..{end} of a data lane of {} bytes",
                        lane.len
                    ),
                ));
            }
            let mut file_off = p.file_off;
            let mut i = lane.chunks.partition_point(|(_, start, _)| *start <= off) - 1;
            while off < end {
                let (id, start, len) = lane.chunks[i];
                let take = (start + len).min(end) - off;
                let copy = (off - start, take, file_off);
                match reads.last_mut() {
                    Some((l, j, r)) if *l == p.source.link && *j == i => r.copies.push(copy),
                    _ => reads.push((
                        p.source.link,
                        i,
                        ChunkRead {
                            id,
                            len,
                            copies: vec![copy],
                        },
                    )),
                }
                off += take;
                file_off += take;
                i += 1;
            }
        }
        Ok(reads.into_iter().map(|(_, _, r)| r).collect())
    }
}

/// Receives the fetched chunks back to back and copies their pieces out.
struct FileSink<'a> {
    reads: &'a [ChunkRead],
    cur: usize,
    buf: Vec<u8>,
    out: &'a File,
    pos: u64,
    hasher: blake3::Hasher,
}

impl FileSink<'_> {
    /// Hashes zeros up to `to`: a gap the file keeps as a hole.
    fn zeros_to(&mut self, to: u64) -> io::Result<()> {
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        if to < self.pos {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "pieces out of file order",
            ));
        }
        while self.pos < to {
            let n = (to - self.pos).min(ZEROS.len() as u64) as usize;
            self.hasher.update(&ZEROS[..n]);
            self.pos += n as u64;
        }
        Ok(())
    }

    fn chunk_done(&mut self) -> io::Result<()> {
        let r = &self.reads[self.cur];
        for &(at, len, file_off) in &r.copies {
            self.zeros_to(file_off)?;
            let b = &self.buf[at as usize..(at + len) as usize];
            self.out.write_all_at(b, file_off)?;
            self.hasher.update(b);
            self.pos = file_off + len;
        }
        self.buf.clear();
        self.cur += 1;
        Ok(())
    }
}

impl Write for FileSink<'_> {
    fn write(&mut self, mut b: &[u8]) -> io::Result<usize> {
        let n = b.len();
        while !b.is_empty() {
            let Some(r) = self.reads.get(self.cur) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "more chunk bytes than the chunks' recorded lengths",
                ));
            };
            let k = ((r.len as usize) - self.buf.len()).min(b.len());
            self.buf.extend_from_slice(&b[..k]);
            b = &b[k..];
            if self.buf.len() as u64 == r.len {
                self.chunk_done()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
