//! The restore pipeline: each lane's chunks fetched ahead, opened and
//! verified in parallel, written in order, and the lanes joined back into
//! the stream.
//!
//! ```text
//! per lane: fetcher thread (reads runs of adjacent blobs) -> N workers
//! (open, verify) -> writer thread (reorders) -> pipe
//! this thread: join(meta pipe, data pipe) -> verifier -> out
//! ```
//! Each lane's fetch is the pack store's
//! ([`PackStore::read_chunks`](crate::pack_store::PackStore::read_chunks)).
//! The verifier holds back the stream's last [`HOLD_BACK`] bytes until the
//! whole stream's length and digest match the manifest. The END record (the
//! last 312 bytes) lies in them, so `zfs receive` never gets a complete
//! stream that is not exactly the one shipped, and commits nothing.

use std::io::Write;
use std::thread;

use crate::error::{Error, Result};
use crate::format::manifest::Manifest;
use crate::id::Id;
use crate::pipe::{pipe, PipeWriter};
use crate::progress::Progress;
use crate::records;
use crate::repository::Repository;

/// Bytes held back from `out` until the stream is verified.
pub const HOLD_BACK: usize = 64 * 1024;

/// Reads and checks every link of a chain before anything is received: each
/// manifest from the repository (authenticated; a stale catalog may name a
/// damaged one), each link's base being the previous link, and every chunk
/// of every link locatable in the index. Returns the manifests in order. A
/// restore that passes this can still meet a damaged blob, but never fails
/// half-way for want of a manifest or a chunk.
pub fn read_chain(repo: &Repository, chain: &[Id]) -> Result<Vec<Manifest>> {
    let mut manifests: Vec<Manifest> = Vec::with_capacity(chain.len());
    for id in chain {
        let m = repo.read_manifest(id)?;
        match (manifests.last(), &m.base) {
            (None, None) => {}
            (Some(prev), Some(b)) if b.guid == prev.guid => {}
            (_, base) => {
                return Err(Error::corrupt(
                    format!("chain of {}", m.full_name()),
                    match base {
                        Some(b) => format!("its base has guid {}, not the previous link's", b.guid),
                        None => "a full stream in the middle of the chain".to_string(),
                    },
                ))
            }
        }
        if let Some(c) = m.all_chunks().find(|c| !repo.index().contains(c)) {
            return Err(Error::Missing {
                kind: "chunk",
                name: format!("{c} (needed by {})", m.full_name()),
            });
        }
        manifests.push(m);
    }
    Ok(manifests)
}

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
    repo.packs().read_chunks(name, chunks, &mut w, progress)?;
    w.close()
        .map_err(|e| Error::io(format!("passing on the stream of {name}"), e))
}
