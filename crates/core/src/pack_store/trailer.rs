//! A pack's own account of itself: its trailer, read from the end with two
//! small range reads (adoption, `check`), and the whole pack read back and
//! every blob the index places in it opened (`check --read-data`).

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
    /// Why the pack's header, footer or trailer cannot be parsed, if so.
    pub layout: Result<(), String>,
    /// The blobs asked for (the index's), each opened where the index
    /// places it, with why it does not open: a damaged trailer does not
    /// keep them from being verified, nor from being restored.
    pub blobs: Vec<BlobVerdict>,
}

/// One blob of a pack read back.
pub(crate) struct BlobVerdict {
    /// Where it is, as the index says.
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

    /// Reads a whole pack back: checks its name, parses its header, footer
    /// and trailer, and opens each of `entries` (the blobs the index places
    /// in it) where it says. Only a failed read is an error.
    pub(crate) fn read_back(&self, name: &str, entries: &[Entry]) -> Result<PackReadBack> {
        let bytes = self.backend.read(FileType::Pack, name)?;
        let blobs = entries
            .iter()
            .map(|&entry| {
                let (start, end) = (
                    entry.offset as usize,
                    entry.offset as usize + entry.length as usize,
                );
                let damage = match bytes.get(start..end) {
                    Some(b) => self.open_blob(&entry.id, b).err(),
                    None => Some(format!(
                        "the index places it at bytes {start}..{end}, but the pack is {} bytes",
                        bytes.len()
                    )),
                };
                BlobVerdict { entry, damage }
            })
            .collect();
        Ok(PackReadBack {
            len: bytes.len() as u64,
            name: check_name("pack", name, &bytes),
            layout: pack::parse(&self.keys, &bytes).map(drop),
            blobs,
        })
    }
}
