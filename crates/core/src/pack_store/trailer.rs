//! A pack's own account of itself: its trailer, read from the end with two
//! small range reads (adoption, `check`), and the whole pack read back and
//! every blob opened (`check --read-data`).

use super::PackStore;
use crate::backend::FileType;
use crate::error::Result;
use crate::format::pack::{self, Entry};
use crate::id::check_name;

/// A whole pack read back: what `check --read-data` reports on.
pub(crate) struct PackReadBack {
    /// Bytes read.
    pub len: u64,
    /// Whether the pack's bytes hash to its name.
    pub name: Result<()>,
    /// The blobs its trailer lists, each with why it does not open, or why
    /// the pack's header, footer or trailer cannot be parsed.
    pub blobs: Result<Vec<BlobVerdict>, String>,
}

/// One blob of a pack read back.
pub(crate) struct BlobVerdict {
    /// Where it is, as the pack's trailer says.
    pub entry: Entry,
    /// Why it does not open, if it does not.
    pub damage: Option<String>,
}

impl PackStore {
    /// Reads a pack's blob list from its own trailer; `size` is the pack's
    /// size as listed. The reason is for a message naming the pack.
    pub(crate) fn read_trailer(&self, name: &str, size: u64) -> Result<Vec<Entry>, String> {
        let b = &self.backend;
        let min = (pack::HEADER_LEN + pack::FOOTER_LEN) as u64;
        if size < min {
            return Err(format!("it is {size} bytes, too short to be a pack"));
        }
        let footer = b
            .read_range(
                FileType::Pack,
                name,
                size - pack::FOOTER_LEN as u64,
                pack::FOOTER_LEN as u64,
            )
            .map_err(|e| e.to_string())?;
        let tlen = u64::from(pack::footer_trailer_len(&footer)?);
        let tstart = (size - pack::FOOTER_LEN as u64)
            .checked_sub(tlen)
            .filter(|s| *s >= pack::HEADER_LEN as u64)
            .ok_or("trailer length exceeds the pack")?;
        let sealed = b
            .read_range(FileType::Pack, name, tstart, tlen)
            .map_err(|e| e.to_string())?;
        pack::parse_trailer(&self.keys, &sealed, tstart)
    }

    /// Reads a whole pack back: checks its name, parses it and opens every
    /// blob its trailer lists. Only a failed read is an error.
    pub(crate) fn read_back(&self, name: &str) -> Result<PackReadBack> {
        let bytes = self.backend.read(FileType::Pack, name)?;
        let blobs = pack::parse(&self.keys, &bytes).map(|entries| {
            entries
                .into_iter()
                .map(|entry| {
                    let b = &bytes[entry.offset as usize..(entry.offset + entry.length) as usize];
                    BlobVerdict {
                        entry,
                        damage: self.open_blob(&entry.id, b).err(),
                    }
                })
                .collect()
        });
        Ok(PackReadBack {
            len: bytes.len() as u64,
            name: check_name("pack", name, &bytes),
            blobs,
        })
    }
}
