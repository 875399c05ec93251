//! The way out: chunks located in the index, read in runs of adjacent blobs
//! with read-ahead, opened and verified in parallel, and passed on in order.
//!
//! ```text
//! fetcher thread (reads runs of adjacent blobs, up to READ_AHEAD at once)
//!   -> N workers (open, verify) -> this thread (reorders) -> out
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::thread;

use crossbeam_channel::bounded;

use super::PackStore;
use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::blob;
use crate::format::index::BlobLoc;
use crate::id::Id;
use crate::progress::Progress;
use crate::workers::workers;

/// Adjacent blobs of one pack are fetched in one read of at most this size.
const MAX_RUN: u64 = 16 * 1024 * 1024;

/// The most runs one `read_chunks` reads at once, however many transfers the
/// backend allows: each holds up to `MAX_RUN` bytes twice (read, and waiting).
const READ_AHEAD: usize = 4;

impl PackStore {
    /// Opens one blob read from a pack: authenticates it and returns its
    /// plaintext, which must hash to `id` (`blob::decode`'s checks).
    pub(crate) fn open_blob(&self, id: &Id, bytes: &[u8]) -> Result<Vec<u8>, String> {
        blob::decode(&self.keys, bytes, Some(id))
    }

    /// Writes the plaintext of `chunks`, in order, to `out`; `name` (what
    /// the chunks belong to) goes into the errors. Every chunk must be in
    /// the index (else [`Error::Missing`] before a byte is written); a blob
    /// that does not open is [`Error::Corrupt`] naming its pack.
    pub(crate) fn read_chunks(
        &self,
        name: &str,
        chunks: &[Id],
        out: &mut dyn Write,
        progress: &dyn Progress,
    ) -> Result<()> {
        self.for_each_chunk(name, chunks, &mut |data| {
            out.write_all(&data)
                .map_err(|e| Error::io(format!("writing the stream of {name}"), e))?;
            progress.advance(data.len() as u64);
            Ok(())
        })
    }

    /// Hands the plaintext of each of `chunks` to `take`, in order, one
    /// chunk a call (so a reader can tell where each chunk begins); the
    /// errors are [`read_chunks`](Self::read_chunks)'. An error of `take`
    /// ends it.
    pub(crate) fn for_each_chunk(
        &self,
        name: &str,
        chunks: &[Id],
        take: &mut dyn FnMut(Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let index = &self.index;
        let mut locs = Vec::with_capacity(chunks.len());
        for id in chunks {
            let loc = index.get(id).ok_or_else(|| Error::Missing {
                kind: "chunk",
                name: format!("{id} (needed by {name})"),
            })?;
            locs.push((*id, loc));
        }
        let n = workers();
        // Tokens bound the chunks between fetcher and writer, so a slow worker
        // cannot make the reorder buffer grow without limit.
        let (token_tx, token_rx) = bounded::<()>(4 * n);
        let (work_tx, work_rx) = bounded::<(usize, Id, Id, Vec<u8>)>(2 * n);
        let (done_tx, done_rx) = bounded::<(usize, Result<Vec<u8>>)>(2 * n);

        thread::scope(|s| {
            let locs = &locs;
            let fetch_failed = done_tx.clone();
            s.spawn(move || {
                let runs = plan_runs(locs);
                let fetched = self.read_ahead(name, locs, &runs, |i, bytes| {
                    let (start, end) = runs[i];
                    let first = locs[start].1;
                    let pack = index.pack_id(first.pack);
                    for (k, (id, loc)) in locs[start..end].iter().enumerate() {
                        if token_tx.send(()).is_err() {
                            return false;
                        }
                        let at = (loc.offset - first.offset) as usize;
                        let b = bytes[at..at + loc.length as usize].to_vec();
                        if work_tx.send((start + k, *id, pack, b)).is_err() {
                            return false;
                        }
                    }
                    true
                });
                if let Err((i, e)) = fetched {
                    let _ = fetch_failed.send((runs[i].0, Err(e)));
                }
            });
            for _ in 0..n {
                let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
                s.spawn(move || {
                    for (seq, id, pack, b) in work_rx {
                        let r = self.open_blob(&id, &b).map_err(|reason| {
                            Error::corrupt(format!("pack {pack} (a chunk of {name})"), reason)
                        });
                        if done_tx.send((seq, r)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop((work_rx, done_tx));
            let result = in_order(locs.len(), &done_rx, &token_rx, take);
            drop(done_rx);
            drop(token_rx);
            result
        })
    }

    /// Reads the runs with up to `READ_AHEAD` (at most the backend's
    /// `transfers()`) reads at once, and hands each run's bytes to `take` in
    /// order. Reader t reads runs t, t + k, t + 2k, … into a channel of its
    /// own, so order needs no reorder buffer and at most 2k runs are held.
    /// `take` returns false to stop. A failed read ends it with the run's index.
    /// A pack that ends before a run the index places in it is damage
    /// ([`Error::Corrupt`] naming the pack and `name`), not a failed read.
    fn read_ahead(
        &self,
        name: &str,
        locs: &[(Id, BlobLoc)],
        runs: &[(usize, usize)],
        mut take: impl FnMut(usize, Vec<u8>) -> bool,
    ) -> std::result::Result<(), (usize, Error)> {
        let k = self.backend.transfers().clamp(1, READ_AHEAD);
        let read = |i: usize| {
            let (start, end) = runs[i];
            let first = locs[start].1;
            let last = locs[end - 1].1;
            let len = u64::from(last.offset) + u64::from(last.length) - u64::from(first.offset);
            let pack = self.index.pack_id(first.pack).to_hex();
            let offset = u64::from(first.offset);
            let short = |what: String| {
                Error::corrupt(
                    format!("pack {pack} (chunks of {name})"),
                    format!(
                        "the index places blobs at bytes {offset}..{}, but {what}",
                        offset + len
                    ),
                )
            };
            match self.backend.read_range(FileType::Pack, &pack, offset, len) {
                Ok(b) if (b.len() as u64) < len => Err(short(format!(
                    "only {} bytes of them could be read: the pack is truncated or replaced",
                    b.len()
                ))),
                Err(e) if ends_early(&e) => Err(short(format!(
                    "the pack ends before them: it is truncated or replaced ({e})"
                ))),
                r => r,
            }
        };
        thread::scope(|s| {
            let mut rxs = Vec::with_capacity(k);
            for t in 0..k {
                let (tx, rx) = bounded::<Result<Vec<u8>>>(1);
                rxs.push(rx);
                let read = &read;
                s.spawn(move || {
                    for i in (t..runs.len()).step_by(k) {
                        let r = read(i);
                        let failed = r.is_err();
                        if tx.send(r).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            for i in 0..runs.len() {
                match rxs[i % k].recv() {
                    Ok(Ok(bytes)) => {
                        if !take(i, bytes) {
                            return Ok(());
                        }
                        // Test hook: the node-loss tests stop a storage
                        // node here, with the next runs' reads in flight.
                        crate::pause::pause_until_released(&format!("run-read-{}", i + 1), "");
                    }
                    Ok(Err(e)) => return Err((i, e)),
                    Err(_) => return Ok(()),
                }
            }
            Ok(())
        })
    }
}

/// True if a read failed because the object is shorter than the range
/// asked for (directly, or as the last error of retries given up).
fn ends_early(e: &Error) -> bool {
    match e {
        Error::Backend { source, .. } => source.kind() == std::io::ErrorKind::UnexpectedEof,
        Error::GaveUp { last, .. } => ends_early(last),
        _ => false,
    }
}

/// Groups the chunks into runs: consecutive chunks stored back to back in
/// one pack, at most `MAX_RUN` bytes (a single chunk is always a run).
/// Each run is `(first, end)`, indices into `locs`.
fn plan_runs(locs: &[(Id, BlobLoc)]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < locs.len() {
        let first = locs[i].1;
        let mut end = i + 1;
        let mut len = u64::from(first.length);
        while end < locs.len() {
            let l = locs[end].1;
            let contiguous =
                l.pack == first.pack && u64::from(l.offset) == u64::from(first.offset) + len;
            if !contiguous || len + u64::from(l.length) > MAX_RUN {
                break;
            }
            len += u64::from(l.length);
            end += 1;
        }
        runs.push((i, end));
        i = end;
    }
    runs
}

fn in_order(
    total: usize,
    done_rx: &crossbeam_channel::Receiver<(usize, Result<Vec<u8>>)>,
    token_rx: &crossbeam_channel::Receiver<()>,
    take: &mut dyn FnMut(Vec<u8>) -> Result<()>,
) -> Result<()> {
    let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut next = 0;
    while next < total {
        let (seq, r) = done_rx.recv().map_err(|_| Error::Interrupted)?;
        pending.insert(seq, r?);
        while let Some(data) = pending.remove(&next) {
            let _ = token_rx.try_recv();
            next += 1;
            take(data)?;
        }
    }
    Ok(())
}
