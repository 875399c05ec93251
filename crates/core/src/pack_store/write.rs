//! The way in: blobs sealed, gathered into packs, packs sealed and written
//! durably; and prune's repack, which copies blobs from old packs to new ones.

use super::PackStore;
use crate::backend::FileType;
use crate::crypto::Keys;
use crate::error::{Error, Result};
use crate::format::blob;
use crate::format::index::PackBlobs;
use crate::format::pack::{Entry, PackWriter};
use crate::id::Id;
use crate::progress::Progress;

/// A finished pack, trailer sealed, not yet written.
pub(crate) struct SealedPack {
    /// The pack's name: BLAKE3 of `bytes`.
    pub id: Id,
    /// The whole pack.
    pub bytes: Vec<u8>,
    /// Its blobs, as its trailer lists them.
    pub entries: Vec<Entry>,
}

/// Gathers sealed blobs into packs of about `pack_size` bytes. A pack is
/// closed after the blob that reaches the target (docs/design.md §4.3).
pub(crate) struct Packer<'a> {
    keys: &'a Keys,
    pack_size: usize,
    writer: PackWriter,
}

impl Packer<'_> {
    /// Appends a sealed blob; returns the pack it filled, if it filled one.
    pub(crate) fn add(&mut self, id: Id, blob: &[u8], raw_len: u32) -> Option<SealedPack> {
        self.writer.add(id, blob, raw_len);
        (self.writer.len() >= self.pack_size)
            .then(|| seal(std::mem::take(&mut self.writer), self.keys))
    }

    /// The last pack: whatever is left, if anything.
    pub(crate) fn finish(self) -> Option<SealedPack> {
        (!self.writer.is_empty()).then(|| seal(self.writer, self.keys))
    }
}

fn seal(writer: PackWriter, keys: &Keys) -> SealedPack {
    let (id, bytes, entries) = writer.finish(keys);
    SealedPack { id, bytes, entries }
}

impl PackStore {
    /// Compresses (at `zstd_level`) and seals one chunk into a blob.
    pub(crate) fn seal_blob(&self, id: Id, data: &[u8], zstd_level: i32) -> Vec<u8> {
        blob::encode(&self.keys, id, data, zstd_level)
    }

    /// A packer for packs of about `pack_size` bytes.
    pub(crate) fn packer(&self, pack_size: usize) -> Packer<'_> {
        Packer {
            keys: &self.keys,
            pack_size,
            writer: PackWriter::new(),
        }
    }

    /// Writes a pack; returns only once it is durable (the backend
    /// contract). Its bytes are dropped here; what stays is its blob list,
    /// for an index segment.
    pub(crate) fn write_pack(&self, pack: SealedPack) -> Result<PackBlobs> {
        let SealedPack { id, bytes, entries } = pack;
        self.backend
            .write_shared(FileType::Pack, &id.to_hex(), bytes::Bytes::from(bytes))?;
        Ok(PackBlobs { pack: id, entries })
    }

    /// Copies the blobs `used` of each pack into new packs of about
    /// `pack_size` bytes, authenticating each one first, and writes them
    /// one after another. The new packs are in no index segment yet.
    pub(crate) fn repack<'e>(
        &self,
        packs: impl IntoIterator<Item = (Id, &'e [Entry])>,
        pack_size: usize,
        progress: &dyn Progress,
    ) -> Result<Vec<PackBlobs>> {
        let mut written = Vec::new();
        let mut packer = self.packer(pack_size);
        for (pack, used) in packs {
            let name = pack.to_hex();
            let bytes = self.backend.read(FileType::Pack, &name)?;
            for e in used {
                let (at, len) = (e.offset as usize, e.length as usize);
                let b = bytes.get(at..at + len).ok_or_else(|| {
                    Error::corrupt(format!("pack {name}"), "shorter than its index says")
                })?;
                self.open_blob(&e.id, b)
                    .map_err(|r| Error::corrupt(format!("pack {name}"), r))?;
                let full = packer.add(e.id, b, e.raw_len);
                progress.advance(len as u64);
                if let Some(full) = full {
                    written.push(self.write_pack(full)?);
                }
            }
        }
        if let Some(last) = packer.finish() {
            written.push(self.write_pack(last)?);
        }
        Ok(written)
    }
}
