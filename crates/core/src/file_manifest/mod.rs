//! A snapshot's file manifest in the repository: recorded while it is
//! shipped ([`record`]), stored like stream data through the ingest
//! pipeline, and loaded back through the pack store, authenticated and
//! checked. The list itself and its encoding are `format::file_list`'s.

#[cfg(test)]
mod tests;

pub(crate) use record::Recorded;
pub(crate) mod record;

use crate::error::{Error, Result};
use crate::format::file_list::{decode, encode, Entries, FileList, FileListRef};
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
    let list = load_encoded_file_list(repo, r, what)?;
    decode(&list.bytes).map_err(|reason| Error::corrupt(file_manifest_of(what), reason))
}

/// The encoded list `r` points at, checked as [`load_file_list`] checks it
/// but not decoded: about 120 bytes an entry instead of about 200, for
/// going through the entries once ([`crate::filelist::entries`]; an error
/// there is [`EncodedFileList::damaged`]).
pub fn load_encoded_file_list(
    repo: &Repository,
    r: &FileListRef,
    what: &str,
) -> Result<EncodedFileList> {
    let name = file_manifest_of(what);
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
    Ok(EncodedFileList { bytes, name })
}

/// An encoded file list whose length and digest matched its manifest.
pub struct EncodedFileList {
    bytes: Vec<u8>,
    name: String,
}

impl EncodedFileList {
    /// Its entries one at a time; a header that does not decode is an
    /// integrity error naming the list.
    pub fn entries(&self) -> Result<Entries<'_>> {
        crate::format::file_list::entries(&self.bytes).map_err(|reason| self.damaged(reason))
    }

    /// The integrity error for a record of this list that does not decode.
    pub fn damaged(&self, reason: String) -> Error {
        Error::corrupt(self.name.clone(), reason)
    }
}

fn file_manifest_of(what: &str) -> String {
    format!("the file manifest of {what}")
}
