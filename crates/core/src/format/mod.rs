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

#[cfg(test)]
mod tests;
