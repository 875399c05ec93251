//! The restore pipeline: a manifest's chunks, fetched ahead, opened and
//! verified in parallel, written in order.
//!
//! ```text
//! fetcher thread (reads runs of adjacent blobs) -> N workers (open, verify)
//! -> this thread (reorders, digests, writes)
//! ```
//! The last chunk is written only after the whole stream's digest matches the
//! manifest. The END record (312 bytes) lies in the last chunk or straddles
//! the last two, so `zfs receive` never gets a complete END record of a
//! stream that is not exactly the one shipped, and commits nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::thread;

use crossbeam_channel::bounded;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::blob;
use crate::id::Id;
use crate::ingest::workers;
use crate::progress::Progress;
use crate::repository::Repository;
use crate::Manifest;

/// Adjacent blobs of one pack are fetched in one read of at most this size.
const MAX_RUN: u64 = 16 * 1024 * 1024;

/// Writes the stream of `m` to `out`, verifying every blob and the digest.
pub fn restore_stream(
    repo: &Repository,
    m: &Manifest,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<()> {
    let name = m.full_name();
    let index = repo.index();
    let mut locs = Vec::with_capacity(m.chunks.len());
    for id in &m.chunks {
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
        let name = &name;
        let fetch_failed = done_tx.clone();
        s.spawn(move || {
            let mut i = 0;
            while i < locs.len() {
                // A run: consecutive chunks stored back to back in one pack.
                let (_, first) = locs[i];
                let mut end = i + 1;
                let mut len = u64::from(first.length);
                while end < locs.len() {
                    let l = locs[end].1;
                    let contiguous = l.pack == first.pack
                        && u64::from(l.offset) == u64::from(first.offset) + len;
                    if !contiguous || len + u64::from(l.length) > MAX_RUN {
                        break;
                    }
                    len += u64::from(l.length);
                    end += 1;
                }
                let pack = index.pack_id(first.pack);
                let bytes = repo.backend().read_range(
                    FileType::Pack,
                    &pack.to_hex(),
                    first.offset.into(),
                    len,
                );
                let bytes = match bytes {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = fetch_failed.send((i, Err(e)));
                        return;
                    }
                };
                for (k, (id, loc)) in locs[i..end].iter().enumerate() {
                    if token_tx.send(()).is_err() {
                        return;
                    }
                    let at = (loc.offset - first.offset) as usize;
                    let b = bytes[at..at + loc.length as usize].to_vec();
                    if work_tx.send((i + k, *id, pack, b)).is_err() {
                        return;
                    }
                }
                i = end;
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
        let result = write_in_order(m, locs.len(), &done_rx, &token_rx, out, progress);
        drop(done_rx);
        drop(token_rx);
        result
    })
}

fn write_in_order(
    m: &Manifest,
    total: usize,
    done_rx: &crossbeam_channel::Receiver<(usize, Result<Vec<u8>>)>,
    token_rx: &crossbeam_channel::Receiver<()>,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<()> {
    let name = m.full_name();
    let mut digest = blake3::Hasher::new();
    let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut next = 0;
    let mut written = 0u64;
    let write_err = |e| Error::io(format!("writing the stream of {name}"), e);
    while next < total {
        let (seq, r) = done_rx.recv().map_err(|_| Error::Interrupted)?;
        pending.insert(seq, r?);
        while let Some(data) = pending.remove(&next) {
            let _ = token_rx.try_recv();
            digest.update(&data);
            next += 1;
            if next == total {
                let actual = digest.finalize().to_hex().to_string();
                if actual != m.stream_digest || written + data.len() as u64 != m.stream_len {
                    return Err(Error::StreamDigest {
                        snapshot: name.clone(),
                        expected: m.stream_digest.clone(),
                        actual,
                    });
                }
            }
            out.write_all(&data).map_err(write_err)?;
            written += data.len() as u64;
            progress.advance(data.len() as u64);
        }
    }
    if total == 0 {
        return Err(Error::corrupt(
            format!("snapshot manifest of {name}"),
            "it lists no chunks",
        ));
    }
    out.flush().map_err(write_err)
}
