//! The digest of a volume's whole device.

use std::path::Path;

use super::walk::{hash_file, READ_BUF};
use super::VolumeDigest;
use crate::error::Result;

/// BLAKE3 of every byte of the device (or file) at `path`, read 1 MiB at a
/// time.
pub fn digest_device(path: &Path) -> Result<VolumeDigest> {
    let mut buf = vec![0u8; READ_BUF];
    let (digest, size) = hash_file(path, &mut buf)?;
    Ok(VolumeDigest {
        blake3: hex::encode(digest),
        size,
    })
}
