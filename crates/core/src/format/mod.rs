//! Byte layouts of repository objects (format v1). docs/design.md describes
//! each down to the byte; the constants here are frozen: do not modify them.

pub mod blob;
pub mod config;
pub mod file_list;
pub mod index;
pub mod manifest;
pub mod pack;

/// Reads a little-endian u32 at `at`; the caller has checked the length.
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The most a manifest or an index segment may inflate to. Far above any
/// real one (a manifest takes about 67 bytes a chunk: 1 GiB is a 16 TiB
/// stream at 1 MiB chunks; a segment names at most `PACKS_PER_SEGMENT`
/// packs), it stops a frame that zstd would inflate without end (about
/// 32,000 times its size) before it takes the host's memory.
pub const MAX_INFLATED: u64 = 1 << 30;

/// Decompresses a zstd frame (or several, back to back) of at most
/// `limit` bytes; `Err` says why not.
pub(crate) fn inflate(z: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(z)
        .and_then(|d| d.take(limit.saturating_add(1)).read_to_end(&mut out))
        .map_err(|e| format!("does not decompress: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("decompresses to more than {limit} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
