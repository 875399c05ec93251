//! A big file of a mount, fetched on demand: its cache file is sparse, of
//! the file's size, and a read fetches only the windows of [`WINDOW`]
//! bytes it touches that are not there yet (`ChainMap::extract_range`:
//! the chunks holding them, each authenticated against its id). The
//! whole file's BLAKE3 is compared with the manifest's once every window
//! is in (windows are hashed in file order as soon as the ones before
//! them are, so a sequential read hashes as it goes); a mismatch makes
//! every later read and open of it EIO.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use backup_core::extract::{ChainMap, Piece};
use backup_core::Repository;

use super::contents::Refused;

/// What one fetch brings in.
pub const WINDOW: u64 = 4 << 20;

/// The fetch state of one file (shared by its opens and hard links).
pub struct Lazy {
    map: Arc<ChainMap>,
    pieces: Vec<Piece>,
    size: u64,
    want: [u8; 32],
    what: String,
    filled: Vec<bool>,
    /// Windows before this one are hashed into `hasher`.
    hashed: usize,
    hasher: blake3::Hasher,
    /// Set once the digest is known not to match: reads fail.
    refused: Option<Refused>,
}

impl Lazy {
    pub fn new(
        map: Arc<ChainMap>,
        pieces: Vec<Piece>,
        size: u64,
        want: [u8; 32],
        what: String,
    ) -> Lazy {
        Lazy {
            map,
            pieces,
            size,
            want,
            what,
            filled: vec![false; size.div_ceil(WINDOW) as usize],
            hashed: 0,
            hasher: blake3::Hasher::new(),
            refused: None,
        }
    }

    /// Why the file is refused, if its digest turned out wrong.
    pub fn refused(&self) -> Option<&Refused> {
        self.refused.as_ref()
    }

    /// Makes bytes `offset..offset + len` of `file` (this file's cache
    /// file) hold the file's bytes. `Err((why, fresh))`: `fresh` is true
    /// when this call found it (the caller logs it once).
    pub fn fill(
        &mut self,
        repo: &Repository,
        file: &File,
        offset: u64,
        len: u64,
    ) -> Result<(), (Refused, bool)> {
        if let Some(r) = &self.refused {
            return Err((r.clone(), false));
        }
        let end = offset.saturating_add(len).min(self.size);
        if offset >= end {
            return Ok(());
        }
        let (first, last) = ((offset / WINDOW) as usize, ((end - 1) / WINDOW) as usize);
        let mut fetched = false;
        for w in first..=last {
            if self.filled[w] {
                continue;
            }
            let start = w as u64 * WINDOW;
            let stop = (start + WINDOW).min(self.size);
            self.map
                .extract_range(repo, &self.pieces, start, stop, file, &self.what)
                .map_err(|e| (Refused::Failed(e.to_string()), true))?;
            self.filled[w] = true;
            fetched = true;
        }
        // Only a new window can extend what is hashed (a read of windows
        // already in costs no hashing).
        if fetched {
            self.hash_ready(file).map_err(|r| (r, true))?;
        }
        Ok(())
    }

    /// Hashes the windows now contiguous with the hashed ones; after the
    /// last, compares the digest.
    fn hash_ready(&mut self, file: &File) -> Result<(), Refused> {
        let mut buf = vec![0u8; 1 << 20];
        while self.hashed < self.filled.len() && self.filled[self.hashed] {
            let start = self.hashed as u64 * WINDOW;
            let stop = (start + WINDOW).min(self.size);
            let mut at = start;
            while at < stop {
                let n = ((stop - at) as usize).min(buf.len());
                file.read_exact_at(&mut buf[..n], at).map_err(|e| {
                    Refused::Failed(format!("reading back the cache file of {}: {e}", self.what))
                })?;
                self.hasher.update(&buf[..n]);
                at += n as u64;
            }
            self.hashed += 1;
        }
        if self.hashed == self.filled.len() && *self.hasher.finalize().as_bytes() != self.want {
            let why = Refused::SlowPathOnly(
                "the blocks found in the streams do not hash to the manifest's BLAKE3 \
                 (found once the whole file was read; what was read before came from \
                 authenticated chunks)"
                    .into(),
            );
            self.refused = Some(why.clone());
            return Err(why);
        }
        Ok(())
    }
}
