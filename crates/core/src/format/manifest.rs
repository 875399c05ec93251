//! Snapshot manifests: one per shipped ZFS snapshot, the commit point of a
//! ship. Stored as a sealed box (type Manifest, no context) around zstd of
//! JSON; the object's name is the BLAKE3 of its stored bytes.

use serde::{Deserialize, Serialize};

use super::file_list::{FileListRef, VolumeDigest};
use super::{inflate, MAX_INFLATED};
use crate::crypto::{Keys, ObjectType};
use crate::id::Id;

/// Manifest format version written by this build.
pub const VERSION: u32 = 1;
/// How the chunk lists make up the stream: "records" = the send stream split
/// into a meta lane and a data lane (see `records.rs`), each cut by FastCDC;
/// the chunks of each lane concatenated in order give the lane. Readers
/// refuse other layouts.
pub const LAYOUT_RECORDS: &str = "records";

/// The base of an incremental stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRef {
    /// guid of the base snapshot: its identity.
    pub guid: u64,
    /// Full name of the base snapshot when it was shipped, for people.
    pub snapshot: String,
}

/// Figures recorded when the stream was shipped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShipStats {
    /// Chunks in the stream.
    pub chunks: u64,
    /// Chunks that were not in the repository before.
    pub new_chunks: u64,
    /// Plaintext bytes of the new chunks.
    pub new_raw_bytes: u64,
    /// Stored bytes (compressed, sealed, headers) of the new chunks.
    pub new_stored_bytes: u64,
    /// Seconds the ship took.
    pub seconds: f64,
}

/// One shipped snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest version.
    pub version: u32,
    /// Dataset, e.g. `tank/home`.
    pub dataset: String,
    /// Snapshot name after the `@`.
    pub snapshot: String,
    /// ZFS guid of the snapshot: its identity.
    pub guid: u64,
    /// createtxg: its order within the dataset.
    pub createtxg: u64,
    /// Creation time, Unix seconds.
    pub creation: i64,
    /// The base of an incremental, `None` for a full stream.
    pub base: Option<BaseRef>,
    /// How the chunk lists make up the stream (`LAYOUT_RECORDS`).
    pub layout: String,
    /// The `zfs send` flags used.
    pub send_flags: Vec<String>,
    /// Length of the send stream in bytes.
    pub stream_len: u64,
    /// BLAKE3 of the whole stream, hex.
    pub stream_digest: String,
    /// The meta lane's chunks, in order.
    pub meta_chunks: Vec<Id>,
    /// The data lane's chunks, in order.
    pub data_chunks: Vec<Id>,
    /// What the ship added.
    pub stats: ShipStats,
    /// Host that shipped it.
    pub host: String,
    /// ZFS dialect of the source ("zfs-fuse", "OpenZFS 2.1.11").
    pub zfs: String,
    /// Version of backup that wrote it.
    pub tool_version: String,
    /// When the ship finished, Unix seconds.
    pub shipped_at: i64,
    /// The snapshot's file manifest (filesystems), when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<FileListRef>,
    /// The digest of the whole device (volumes), when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeDigest>,
}

impl Manifest {
    /// `dataset@snapshot`.
    pub fn full_name(&self) -> String {
        format!("{}@{}", self.dataset, self.snapshot)
    }

    /// Every chunk the stream needs, both lanes. Not the file list's: a
    /// stream restores without it.
    pub fn all_chunks(&self) -> impl Iterator<Item = &Id> {
        self.meta_chunks.iter().chain(&self.data_chunks)
    }

    /// The chunks of the file manifest, if one was recorded.
    pub fn file_list_chunks(&self) -> impl Iterator<Item = &Id> {
        self.files.iter().flat_map(|f| f.chunks.iter())
    }

    /// Every chunk the manifest references: the stream's and the file
    /// manifest's. Prune keeps these.
    pub fn referenced_chunks(&self) -> impl Iterator<Item = &Id> {
        self.all_chunks().chain(self.file_list_chunks())
    }
}

/// Serialises and seals a manifest.
pub fn encode(keys: &Keys, m: &Manifest) -> Vec<u8> {
    let json = serde_json::to_vec(m).expect("manifest serialises");
    let z = zstd::bulk::compress(&json, 3).expect("zstd compresses in memory");
    keys.seal(ObjectType::Manifest, &[], &z)
}

/// Opens and parses a manifest.
pub fn decode(keys: &Keys, sealed: &[u8]) -> Result<Manifest, String> {
    let z = keys
        .open(ObjectType::Manifest, &[], sealed)
        .ok_or("manifest fails authentication")?;
    decode_opened(&z)
}

/// The part of [`decode`] after the sealed box has opened: decompresses
/// `z`, parses the JSON and checks version and layout. Where the parsing
/// is, so the fuzz targets (`fuzz/`) call it directly.
pub fn decode_opened(z: &[u8]) -> Result<Manifest, String> {
    let json = inflate(z, MAX_INFLATED).map_err(|e| format!("manifest {e}"))?;
    parse_json(&json)
}

/// Parses a manifest's decompressed JSON and checks version and layout.
pub fn parse_json(json: &[u8]) -> Result<Manifest, String> {
    let m: Manifest =
        serde_json::from_slice(json).map_err(|e| format!("manifest does not parse: {e}"))?;
    if m.version != VERSION {
        return Err(format!("unknown manifest version {}", m.version));
    }
    if m.layout != LAYOUT_RECORDS {
        return Err(format!("unknown stream layout {:?}", m.layout));
    }
    Ok(m)
}
