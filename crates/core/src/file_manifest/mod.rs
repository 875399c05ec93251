//! A snapshot's file manifest in the repository: recorded while it is
//! shipped ([`record`]), stored like stream data through the ingest
//! pipeline, and loaded back through the pack store, authenticated and
//! checked. The list itself and its encoding are `format::file_list`'s.

#[cfg(test)]
mod streamed_tests;
#[cfg(test)]
mod tests;

pub(crate) use record::Recorded;
mod read;
pub(crate) mod record;
mod search;

pub use read::{file_list_entries, ListEntries};
pub use search::ListSearch;

use crate::error::Result;
use crate::format::file_list::{encode, FileList, FileListRef};
use crate::ingest::ingest_bytes;
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

/// Fetches the list `r` points at, chunk by chunk as
/// [`file_list_entries`] does (every chunk authenticated, every entry
/// validated, the length and digest of the whole checked), and returns it
/// only once all of it is checked. Damage is an integrity error
/// ([`crate::Error::is_integrity`]) naming `what` (e.g. the snapshot's full name).
pub fn load_file_list(repo: &Repository, r: &FileListRef, what: &str) -> Result<FileList> {
    let mut entries = Vec::with_capacity(r.entries.min(1 << 24) as usize);
    for e in file_list_entries(repo, r, what) {
        entries.push(e?);
    }
    Ok(FileList { entries })
}

fn file_manifest_of(what: &str) -> String {
    format!("the file manifest of {what}")
}
