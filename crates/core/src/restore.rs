//! The restore pipeline: each lane's chunks fetched ahead, opened and
//! verified in parallel, written in order, and the lanes joined back into
//! the stream.
//!
//! ```text
//! per lane: fetcher thread (reads runs of adjacent blobs) -> N workers
//! (open, verify) -> writer thread (reorders) -> pipe
//! this thread: join(meta pipe, data pipe) -> verifier -> out
//! ```
//! The verifier holds back the stream's last [`HOLD_BACK`] bytes until the
//! whole stream's length and digest match the manifest. The END record (the
//! last 312 bytes) lies in them, so `zfs receive` never gets a complete
//! stream that is not exactly the one shipped, and commits nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::thread;

use crossbeam_channel::bounded;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::blob;
use crate::format::index::{BlobLoc, Index};
use crate::id::Id;
use crate::ingest::workers;
use crate::pipe::{pipe, PipeWriter};
use crate::progress::Progress;
use crate::records;
use crate::repository::Repository;
use crate::Manifest;

/// Adjacent blobs of one pack are fetched in one read of at most this size.
const MAX_RUN: u64 = 16 * 1024 * 1024;

/// The most runs one lane reads at once, however many transfers the backend
/// allows: each holds up to `MAX_RUN` bytes twice (read, and waiting).
const READ_AHEAD: usize = 4;

/// Bytes held back from `out` until the stream is verified.
pub const HOLD_BACK: usize = 64 * 1024;

/// Writes the stream of `m` to `out`, verifying every blob and the digest.
pub fn restore_stream(
    repo: &Repository,
    m: &Manifest,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<()> {
    let name = m.full_name();
    // Every chunk must be locatable before a byte is written.
    if let Some(id) = m.all_chunks().find(|id| !repo.index().contains(id)) {
        return Err(Error::Missing {
            kind: "chunk",
            name: format!("{id} (needed by {name})"),
        });
    }
    let mut verifier = Verifier {
        out,
        digest: blake3::Hasher::new(),
        len: 0,
        passed: 0,
        limit: m.stream_len.saturating_sub(HOLD_BACK as u64),
        expected_len: m.stream_len,
        held: Vec::with_capacity(2 * HOLD_BACK),
    };
    thread::scope(|s| {
        let (meta_w, mut meta_r) = pipe(4);
        let (data_w, mut data_r) = pipe(4);
        let name = &name;
        let meta = s.spawn(move || fetch_into(repo, name, &m.meta_chunks, meta_w, progress));
        let data = s.spawn(move || fetch_into(repo, name, &m.data_chunks, data_w, progress));
        let joined = records::join(&mut meta_r, &mut data_r, &mut verifier);
        // Unblock the fetchers if the join stopped early.
        drop((meta_r, data_r));
        let mut errors: Vec<Error> = [meta, data]
            .into_iter()
            .filter_map(|h| h.join().expect("fetch thread panicked").err())
            .collect();
        // Damage found while fetching explains a failed join: report it first.
        if let Some(i) = errors.iter().position(Error::is_integrity) {
            return Err(errors.swap_remove(i));
        }
        joined.map_err(|e| Error::io(format!("writing the stream of {name}"), e))?;
        errors.pop().map_or(Ok(()), Err)
    })?;
    verifier.finish(m)
}

/// Checks length and digest while passing bytes on. Before
/// [`finish`](Verifier::finish) it never passes on more than the recorded
/// length less [`HOLD_BACK`], so the END record is withheld even if the
/// chunk lists were to put one earlier.
struct Verifier<'a> {
    out: &'a mut dyn Write,
    digest: blake3::Hasher,
    len: u64,
    passed: u64,
    limit: u64,
    expected_len: u64,
    held: Vec<u8>,
}

impl Write for Verifier<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.len += b.len() as u64;
        if self.len > self.expected_len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the stream is longer than its recorded {} bytes",
                    self.expected_len
                ),
            ));
        }
        self.digest.update(b);
        self.held.extend_from_slice(b);
        if self.held.len() >= 2 * HOLD_BACK {
            let pass = (self.held.len() - HOLD_BACK).min((self.limit - self.passed) as usize);
            self.out.write_all(&self.held[..pass])?;
            self.held.drain(..pass);
            self.passed += pass as u64;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Verifier<'_> {
    fn finish(self, m: &Manifest) -> Result<()> {
        let name = m.full_name();
        let actual = self.digest.finalize().to_hex().to_string();
        if actual != m.stream_digest || self.len != m.stream_len {
            return Err(Error::StreamDigest {
                snapshot: name,
                expected: format!("{} ({} bytes)", m.stream_digest, m.stream_len),
                actual: format!("{actual} ({} bytes)", self.len),
            });
        }
        let write_err = |e| Error::io(format!("writing the stream of {name}"), e);
        self.out.write_all(&self.held).map_err(write_err)?;
        self.out.flush().map_err(write_err)
    }
}

fn fetch_into(
    repo: &Repository,
    name: &str,
    chunks: &[Id],
    mut w: PipeWriter,
    progress: &dyn Progress,
) -> Result<()> {
    fetch_chunks(repo, name, chunks, &mut w, progress)?;
    w.close()
        .map_err(|e| Error::io(format!("passing on the stream of {name}"), e))
}

/// Writes the plaintext of `chunks`, in order, to `out`.
pub(crate) fn fetch_chunks(
    repo: &Repository,
    name: &str,
    chunks: &[Id],
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<()> {
    let index = repo.index();
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
    let keys = repo.keys();

    thread::scope(|s| {
        let locs = &locs;
        let fetch_failed = done_tx.clone();
        s.spawn(move || {
            let runs = plan_runs(locs);
            let fetched = read_ahead(repo, index, locs, &runs, |i, bytes| {
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
                    let r = blob::decode(keys, &b, Some(&id)).map_err(|reason| {
                        Error::corrupt(format!("pack {pack} (a chunk of {name})"), reason)
                    });
                    if done_tx.send((seq, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((work_rx, done_tx));
        let result = write_in_order(name, locs.len(), &done_rx, &token_rx, out, progress);
        drop(done_rx);
        drop(token_rx);
        result
    })
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

/// Reads the runs with up to `READ_AHEAD` (at most the backend's
/// `transfers()`) reads at once, and hands each run's bytes to `take` in
/// order. Reader t reads runs t, t + k, t + 2k, … into a channel of its
/// own, so order needs no reorder buffer and at most 2k runs are held.
/// `take` returns false to stop. A failed read ends it with the run's index.
fn read_ahead(
    repo: &Repository,
    index: &Index,
    locs: &[(Id, BlobLoc)],
    runs: &[(usize, usize)],
    mut take: impl FnMut(usize, Vec<u8>) -> bool,
) -> std::result::Result<(), (usize, Error)> {
    let k = repo.backend().transfers().clamp(1, READ_AHEAD);
    let read = |i: usize| {
        let (start, end) = runs[i];
        let first = locs[start].1;
        let last = locs[end - 1].1;
        let len = u64::from(last.offset) + u64::from(last.length) - u64::from(first.offset);
        repo.backend().read_range(
            FileType::Pack,
            &index.pack_id(first.pack).to_hex(),
            first.offset.into(),
            len,
        )
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
                }
                Ok(Err(e)) => return Err((i, e)),
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    })
}

fn write_in_order(
    name: &str,
    total: usize,
    done_rx: &crossbeam_channel::Receiver<(usize, Result<Vec<u8>>)>,
    token_rx: &crossbeam_channel::Receiver<()>,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<()> {
    let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut next = 0;
    let write_err = |e| Error::io(format!("writing the stream of {name}"), e);
    while next < total {
        let (seq, r) = done_rx.recv().map_err(|_| Error::Interrupted)?;
        pending.insert(seq, r?);
        while let Some(data) = pending.remove(&next) {
            let _ = token_rx.try_recv();
            next += 1;
            out.write_all(&data).map_err(write_err)?;
            progress.advance(data.len() as u64);
        }
    }
    Ok(())
}
