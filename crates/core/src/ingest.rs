//! The ingest pipeline: a byte stream in; packs, index segments and the
//! ordered chunk lists of the two lanes of the `records` layout out. The
//! same machinery stores a plain byte stream as one lane
//! ([`ingest_bytes`], for file lists).
//!
//! ```text
//! reader -> splitter thread (stream digest, records split) -> meta lane,
//! data lane -> one chunker thread per lane (FastCDC) -> N workers (keyed
//! hash, dedup lookup, zstd, seal) -> packer (this thread) -> uploader thread
//! ```
//! Every queue is bounded, so the data in flight stays flat whatever the
//! stream's size (about 160 MiB for N = 2; docs/design.md §12 has the sum:
//! two pipes, two 4 MiB chunker buffers, 2N chunks, 2N blobs, three packs).
//! Only the bookkeeping grows with the stream: about 150 bytes per chunk
//! (chunk lists, set of new ids, pack entries), 150 KiB per GiB at 1 MiB
//! chunks. A chunk already in the repository is neither compressed nor
//! stored again.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::thread;

use crossbeam_channel::{bounded, Receiver, Sender};
use fastcdc::v2020::{Normalization, StreamCDC};

use crate::error::{Error, Result};
use crate::filelist::StreamDigests;
use crate::format::index::PackBlobs;
use crate::format::manifest::ShipStats;
use crate::id::Id;
use crate::pack_store::{PackStore, SealedPack};
use crate::pipe::{pipe, PipeWriter};
use crate::progress::Progress;
use crate::records::{Lane, Splitter};
use crate::repository::Repository;
use crate::stream_check::StreamCheck;
use crate::workers::workers;

/// What ingesting a stream produced.
#[derive(Debug)]
pub(crate) struct Ingested {
    pub meta_chunks: Vec<Id>,
    pub data_chunks: Vec<Id>,
    pub digest: String,
    pub check: StreamCheck,
    pub stats: ShipStats,
}

struct Work {
    lane: usize,
    seq: usize,
    data: Vec<u8>,
}

struct Done {
    lane: usize,
    seq: usize,
    id: Id,
    raw_len: u32,
    blob: Option<Vec<u8>>,
}

/// Reads `reader` to its end, splits it into the lanes of the `records`
/// layout, and stores every chunk not yet stored. The new packs are indexed
/// (segments written) before this returns; no manifest is written: that is
/// the caller's commit.
pub(crate) fn ingest<R: Read + Send>(
    repo: &mut Repository,
    reader: R,
    what: &str,
    digests: Option<&mut StreamDigests>,
    progress: &dyn Progress,
) -> Result<Ingested> {
    let (meta_w, meta_r) = pipe(4);
    let (data_w, data_r) = pipe(4);
    let r: &Repository = repo;
    let (stored, split) = thread::scope(|s| {
        let lanes = (meta_w, data_w);
        let splitter = s.spawn(move || split_stream(reader, lanes, what, digests, progress));
        let stored = store_lanes(r, vec![meta_r, data_r], what, progress);
        (stored, splitter.join().expect("splitter thread panicked"))
    });

    // The first real failure wins; `Interrupted` only means a neighbour stopped.
    let packs = stored.packs?;
    repo.packs_mut().record(&packs);
    let (check, digest) = split?;
    stored.cut?;
    let (lanes, stats) = stored.packed?;
    let [meta_chunks, data_chunks]: [Vec<Id>; 2] =
        lanes.try_into().map_err(|_| Error::Interrupted)?;
    Ok(Ingested {
        meta_chunks,
        data_chunks,
        digest,
        check,
        stats,
    })
}

/// Stores a plain byte stream (one lane, no records split) like stream
/// data: FastCDC with the repository's parameters and seed, keyed ids,
/// zstd, sealed blobs in packs, chunks already stored skipped. The new
/// packs are indexed before this returns. Returns the ordered chunk list.
pub(crate) fn ingest_bytes<R: Read + Send>(
    repo: &mut Repository,
    reader: R,
    what: &str,
) -> Result<(Vec<Id>, ShipStats)> {
    let stored = store_lanes(repo, vec![reader], what, &crate::progress::NoProgress);
    let packs = stored.packs?;
    repo.packs_mut().record(&packs);
    stored.cut?;
    let (mut lanes, stats) = stored.packed?;
    Ok((lanes.pop().ok_or(Error::Interrupted)?, stats))
}

/// What [`store_lanes`] produced, each stage's result apart so the caller
/// can report the first real failure.
struct Stored {
    /// The uploader: every pack written, all indexed by segments.
    packs: Result<Vec<PackBlobs>>,
    /// The chunkers.
    cut: Result<()>,
    /// The packer: each lane's chunk list, and the figures.
    packed: Result<(Vec<Vec<Id>>, ShipStats)>,
}

/// Cuts each lane by FastCDC and stores its chunks: N workers (keyed hash,
/// dedup lookup, zstd, seal), the packer on this thread, the pack store's
/// uploader thread writing packs and index segments.
fn store_lanes<L: Read + Send>(
    repo: &Repository,
    lanes: Vec<L>,
    what: &str,
    progress: &dyn Progress,
) -> Stored {
    let n = workers();
    let lane_count = lanes.len();
    let (work_tx, work_rx) = bounded::<Work>(2 * n);
    let (done_tx, done_rx) = bounded::<Done>(2 * n);
    let (pack_tx, pack_rx) = bounded::<SealedPack>(1);
    let keys = repo.keys();
    let store = repo.packs();
    let cfg = repo.config().clone();
    let seed = keys.chunker_seed();

    thread::scope(|s| {
        let mut chunkers = Vec::new();
        for (lane, lane_reader) in lanes.into_iter().enumerate() {
            let work_tx = work_tx.clone();
            chunkers.push(s.spawn(move || -> Result<()> {
                let c = cfg.chunker;
                let cdc = StreamCDC::with_level_and_seed(
                    lane_reader,
                    c.min,
                    c.avg,
                    c.max,
                    Normalization::Level1,
                    seed,
                );
                for (seq, chunk) in cdc.enumerate() {
                    let data = chunk
                        .map_err(|e| Error::io(format!("chunking the stream of {what}"), e.into()))?
                        .data;
                    work_tx
                        .send(Work { lane, seq, data })
                        .map_err(|_| Error::Interrupted)?;
                }
                Ok(())
            }));
        }
        drop(work_tx);
        for _ in 0..n {
            let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
            let level = cfg.zstd_level;
            s.spawn(move || {
                for Work { lane, seq, data } in work_rx {
                    let id = keys.chunk_id(&data);
                    let blob = (!store.contains(&id)).then(|| store.seal_blob(id, &data, level));
                    let raw_len = data.len() as u32;
                    if done_tx
                        .send(Done {
                            lane,
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
        let uploader = s.spawn(move || store.upload(pack_rx, progress));

        let packed = pack_blobs(done_rx, pack_tx, store, cfg.pack_size as usize, lane_count);
        let cut: Result<()> = chunkers
            .into_iter()
            .try_for_each(|c| c.join().expect("chunker thread panicked"));
        let packs = uploader.join().expect("uploader thread panicked");
        Stored { packs, cut, packed }
    })
}

/// Reads the stream, digests and checks it, and splits it into the lanes.
/// `digests`, if given, sees the stream too (files' digests, for the file
/// manifest).
fn split_stream<R: Read>(
    mut reader: R,
    (mut meta, mut data): (PipeWriter, PipeWriter),
    what: &str,
    mut digests: Option<&mut StreamDigests>,
    progress: &dyn Progress,
) -> Result<(StreamCheck, String)> {
    let mut digest = blake3::Hasher::new();
    let mut check = StreamCheck::default();
    let mut splitter = Splitter::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut emit = |lane: Lane, b: &[u8]| match lane {
        Lane::Meta => meta.write_all(b),
        Lane::Data => data.write_all(b),
    };
    let lost = |_| Error::Interrupted;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading the stream of {what}"), e)),
        };
        digest.update(&buf[..n]);
        check.observe(&buf[..n]);
        if let Some(d) = digests.as_deref_mut() {
            d.feed(&buf[..n]);
        }
        progress.advance(n as u64);
        splitter.feed(&buf[..n], &mut emit).map_err(lost)?;
    }
    splitter.finish(&mut emit).map_err(lost)?;
    meta.close().map_err(lost)?;
    data.close().map_err(lost)?;
    Ok((check, digest.finalize().to_hex().to_string()))
}

/// Collects worker results into packs (in arrival order) and each lane's
/// chunk list (in stream order).
// By value: dropping `pack_tx` on return is what ends the uploader's loop.
#[allow(clippy::needless_pass_by_value)]
fn pack_blobs(
    done_rx: Receiver<Done>,
    pack_tx: Sender<SealedPack>,
    store: &PackStore,
    pack_size: usize,
    lane_count: usize,
) -> Result<(Vec<Vec<Id>>, ShipStats)> {
    let mut lanes: Vec<Vec<Option<Id>>> = vec![Vec::new(); lane_count];
    let mut seen = HashSet::new();
    let mut stats = ShipStats::default();
    let mut packer = store.packer(pack_size);
    for d in done_rx {
        let chunks = &mut lanes[d.lane];
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
        if let Some(full) = packer.add(d.id, &b, d.raw_len) {
            pack_tx.send(full).map_err(|_| Error::Interrupted)?;
        }
    }
    if let Some(last) = packer.finish() {
        pack_tx.send(last).map_err(|_| Error::Interrupted)?;
    }
    let lanes = lanes
        .into_iter()
        .map(|l| l.into_iter().collect::<Option<Vec<Id>>>())
        .collect::<Option<Vec<Vec<Id>>>>()
        .ok_or(Error::Interrupted)?;
    Ok((lanes, stats))
}
