//! A snapshot's file manifest in the repository: recorded while it is
//! shipped ([`record`]), stored like stream data through the ingest
//! pipeline, and loaded back through the pack store, authenticated and
//! checked. The list itself and its encoding are `format::file_list`'s.

mod record;

#[cfg(test)]
mod tests;

pub(crate) use record::{record, Recorded};

use crate::error::{Error, Result};
use crate::format::file_list::{decode, encode, FileList, FileListRef};
use crate::ingest::ingest_bytes;
use crate::progress::NoProgress;
use crate::repository::Repository;

/// Encodes `list` and stores it as chunks, exactly like stream data
/// (FastCDC with the repository's parameters and seed, keyed ids, zstd,
/// sealed blobs in packs); chunks already in the repository are not stored
/// again, so an unchanged tree costs nothing. The packs are indexed before
/// this returns; the caller commits by naming the result in a manifest.
/// `view` says how the tree was read ("snapdir" or "clone"), `seconds` how
/// long the walk took.
pub fn store_file_list(
    repo: &mut Repository,
    list: &FileList,
    view: &str,
    seconds: f64,
) -> Result<FileListRef> {
    let bytes = encode(list);
    let (chunks, _) = ingest_bytes(repo, bytes.as_slice(), "a file list")?;
    Ok(FileListRef {
        chunks,
        len: bytes.len() as u64,
        digest: blake3::hash(&bytes).to_hex().to_string(),
        entries: list.entries.len() as u64,
        bytes: list.file_bytes(),
        view: view.to_owned(),
        seconds,
    })
}

/// Fetches the list `r` points at: every chunk authenticated, then the
/// length and digest of the whole checked, then decoded. Damage is an
/// integrity error ([`Error::is_integrity`]) naming `what` (e.g. the
/// snapshot's full name).
pub fn load_file_list(repo: &Repository, r: &FileListRef, what: &str) -> Result<FileList> {
    let name = format!("the file manifest of {what}");
    let mut bytes = Vec::with_capacity(r.len.min(1 << 30) as usize);
    repo.packs()
        .read_chunks(&name, &r.chunks, &mut bytes, &NoProgress)?;
    let digest = blake3::hash(&bytes).to_hex().to_string();
    if bytes.len() as u64 != r.len || digest != r.digest {
        return Err(Error::corrupt(
            name,
            format!(
                "expected {} bytes with BLAKE3 {}, got {} bytes with BLAKE3 {digest}",
                r.len,
                r.digest,
                bytes.len()
            ),
        ));
    }
    decode(&bytes).map_err(|reason| Error::corrupt(name, reason))
}
