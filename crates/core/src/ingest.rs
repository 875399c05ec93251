//! The ingest pipeline: a byte stream in, packs, index segments and an
//! ordered chunk list out.
//!
//! ```text
//! reader -> chunker thread (FastCDC, stream digest) -> N workers (keyed hash,
//! dedup lookup, zstd, seal) -> packer (this thread) -> uploader thread
//! ```
//! Every queue is bounded, so the data in flight stays flat whatever the
//! stream's size: at most (2N chunks + 2N blobs) x 4 MiB + 3 packs. Only the
//! bookkeeping grows with the stream: about 150 bytes per chunk (chunk list,
//! set of new ids, pack entries), 150 KiB per GiB at 1 MiB chunks. A chunk
//! already in the repository is neither compressed nor stored again.

use std::collections::HashSet;
use std::io::Read;
use std::thread;

use crossbeam_channel::bounded;
use fastcdc::v2020::{Normalization, StreamCDC};

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::blob;
use crate::format::index::PackBlobs;
use crate::format::manifest::ShipStats;
use crate::format::pack::{Entry, PackWriter};
use crate::id::Id;
use crate::progress::Progress;
use crate::repository::Repository;
use crate::stream_check::StreamCheck;

/// Packs written between two index checkpoints, so an interrupted ship
/// leaves most of its work indexed and a later ship does not upload it again.
const CHECKPOINT_PACKS: usize = 8;

/// What ingesting a stream produced.
#[derive(Debug)]
pub(crate) struct Ingested {
    pub chunks: Vec<Id>,
    pub digest: String,
    pub check: StreamCheck,
    pub stats: ShipStats,
}

struct Done {
    seq: usize,
    id: Id,
    raw_len: u32,
    blob: Option<Vec<u8>>,
}

/// Number of worker threads for CPU-bound stages.
pub(crate) fn workers() -> usize {
    thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
}

/// Reads `reader` to its end and stores every chunk not yet stored. The new
/// packs are indexed (segments written) before this returns; no manifest is
/// written: that is the caller's commit.
pub(crate) fn ingest<R: Read + Send>(
    repo: &mut Repository,
    reader: R,
    what: &str,
    progress: &dyn Progress,
) -> Result<Ingested> {
    let n = workers();
    let (work_tx, work_rx) = bounded::<(usize, Vec<u8>)>(2 * n);
    let (done_tx, done_rx) = bounded::<Done>(2 * n);
    let (pack_tx, pack_rx) = bounded::<(Id, Vec<u8>, Vec<Entry>)>(1);
    let r: &Repository = repo;
    let keys = r.keys();
    let cfg = r.config().clone();
    let seed = keys.chunker_seed();

    let (packs, packer, chunked) = thread::scope(|s| {
        let chunker = s.spawn(move || -> Result<(StreamCheck, String)> {
            let mut digest = blake3::Hasher::new();
            let mut check = StreamCheck::default();
            let c = cfg.chunker;
            let cdc = StreamCDC::with_level_and_seed(
                reader,
                c.min,
                c.avg,
                c.max,
                Normalization::Level1,
                seed,
            );
            for (seq, chunk) in cdc.enumerate() {
                let chunk = chunk
                    .map_err(|e| Error::io(format!("reading the stream of {what}"), e.into()))?;
                digest.update(&chunk.data);
                check.observe(&chunk.data);
                progress.advance(chunk.length as u64);
                if work_tx.send((seq, chunk.data)).is_err() {
                    return Err(Error::Interrupted);
                }
            }
            Ok((check, digest.finalize().to_hex().to_string()))
        });
        for _ in 0..n {
            let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
            let level = cfg.zstd_level;
            s.spawn(move || {
                for (seq, data) in work_rx {
                    let id = keys.chunk_id(&data);
                    let blob =
                        (!r.index().contains(&id)).then(|| blob::encode(keys, id, &data, level));
                    let raw_len = data.len() as u32;
                    if done_tx
                        .send(Done {
                            seq,
                            id,
                            raw_len,
                            blob,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop((work_rx, done_tx));
        let uploader = s.spawn(move || -> Result<Vec<PackBlobs>> {
            let mut all = Vec::new();
            let mut unindexed = 0;
            for (id, bytes, entries) in pack_rx {
                r.backend().write(FileType::Pack, &id.to_hex(), &bytes)?;
                all.push(PackBlobs { pack: id, entries });
                unindexed += 1;
                if unindexed == CHECKPOINT_PACKS {
                    r.write_index_segment(&all[all.len() - unindexed..])?;
                    unindexed = 0;
                }
            }
            if unindexed > 0 {
                r.write_index_segment(&all[all.len() - unindexed..])?;
            }
            Ok(all)
        });

        let packer = pack_blobs(done_rx, pack_tx, r, cfg.pack_size as usize);
        let chunked = chunker.join().expect("chunker thread panicked");
        let packs = uploader.join().expect("uploader thread panicked");
        (packs, packer, chunked)
    });

    // The first real failure wins; `Interrupted` only means a neighbour stopped.
    let packs = packs?;
    repo.index_packs(&packs);
    let (chunks, stats) = packer?;
    let (check, digest) = chunked?;
    Ok(Ingested {
        chunks,
        digest,
        check,
        stats,
    })
}

/// Collects worker results into packs (in arrival order) and the chunk list
/// (in stream order).
fn pack_blobs(
    done_rx: crossbeam_channel::Receiver<Done>,
    pack_tx: crossbeam_channel::Sender<(Id, Vec<u8>, Vec<Entry>)>,
    repo: &Repository,
    pack_size: usize,
) -> Result<(Vec<Id>, ShipStats)> {
    let mut chunks: Vec<Option<Id>> = Vec::new();
    let mut seen = HashSet::new();
    let mut stats = ShipStats::default();
    let mut pack = PackWriter::new();
    for d in done_rx {
        if chunks.len() <= d.seq {
            chunks.resize(d.seq + 1, None);
        }
        chunks[d.seq] = Some(d.id);
        stats.chunks += 1;
        let Some(b) = d.blob else { continue };
        if !seen.insert(d.id) {
            continue;
        }
        stats.new_chunks += 1;
        stats.new_raw_bytes += u64::from(d.raw_len);
        stats.new_stored_bytes += b.len() as u64;
        pack.add(d.id, &b, d.raw_len);
        if pack.len() >= pack_size {
            let full = std::mem::take(&mut pack).finish(repo.keys());
            pack_tx.send(full).map_err(|_| Error::Interrupted)?;
        }
    }
    if !pack.is_empty() {
        pack_tx
            .send(pack.finish(repo.keys()))
            .map_err(|_| Error::Interrupted)?;
    }
    let chunks = chunks
        .into_iter()
        .collect::<Option<Vec<Id>>>()
        .ok_or(Error::Interrupted)?;
    Ok((chunks, stats))
}
