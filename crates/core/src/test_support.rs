//! Fixtures for the tests of crates built on the engine (compiled only for
//! this crate's tests and with the `test-support` feature, which release
//! builds do not enable).

use std::sync::Arc;

use crate::backend::MemoryBackend;
pub use crate::backend::{LocalFs, PowerCutFs};
use crate::error::Result;
use crate::format::config::ChunkerParams;
use crate::format::manifest::{self, BaseRef, Manifest, ShipStats};
use crate::id::Id;
use crate::keyslot::KdfParams;
use crate::progress::NoProgress;
use crate::repository::{InitOptions, Repository};
use crate::restore::restore_stream;

/// A manifest with everything but its identity empty, for tests.
pub fn manifest(dataset: &str, snapshot: &str, guid: u64, base: Option<u64>) -> Manifest {
    Manifest {
        version: manifest::VERSION,
        dataset: dataset.into(),
        snapshot: snapshot.into(),
        guid,
        createtxg: guid,
        creation: 0,
        base: base.map(|g| BaseRef {
            guid: g,
            snapshot: String::new(),
        }),
        layout: manifest::LAYOUT_RECORDS.into(),
        send_flags: vec![],
        stream_len: 0,
        stream_digest: String::new(),
        meta_chunks: vec![],
        data_chunks: vec![],
        stats: ShipStats::default(),
        host: "test".into(),
        zfs: "test".into(),
        tool_version: "test".into(),
        shipped_at: 0,
        files: None,
        volume: None,
    }
}

/// A manifest of `pool/ds@snapshot`, for tests.
pub fn pool_ds_manifest(snapshot: &str, guid: u64, base: Option<u64>) -> Manifest {
    manifest("pool/ds", snapshot, guid, base)
}

/// The stream of the snapshot `id`, restored and verified.
pub fn restored(repo: &Repository, id: &Id) -> Result<Vec<u8>> {
    let m = repo.read_manifest(id)?;
    let mut out = Vec::new();
    restore_stream(repo, &m, &mut out, &NoProgress)?;
    Ok(out)
}

/// Key derivation costs that make a test repository open at once.
pub const CHEAP: KdfParams = KdfParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// Repository settings for tests: cheap keys, small chunks and packs.
pub fn small_opts() -> InitOptions {
    let mut o = InitOptions {
        kdf: CHEAP,
        ..Default::default()
    };
    o.config.chunker = ChunkerParams {
        min: 4 * 1024,
        avg: 16 * 1024,
        max: 64 * 1024,
    };
    o.config.pack_size = 256 * 1024;
    o
}

/// A byte stream shaped like a zfs send stream: BEGIN record, payload, END record.
pub fn fake_stream(payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0u8; 312];
    s[8..16].copy_from_slice(&0x2F5B_ACBACu64.to_le_bytes());
    s.extend_from_slice(payload);
    let mut end = vec![0u8; 312];
    end[0] = 5;
    s.extend_from_slice(&end);
    s
}

/// `n` bytes of a seeded xorshift sequence: incompressible and repeatable.
pub fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A fresh repository on the in-memory backend, with cheap settings.
pub fn test_repo() -> (Arc<MemoryBackend>, Repository) {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    (backend, repo)
}

/// The name of the biggest pack (a data pack, not a small meta-lane one):
/// a listing's order is the names', which are random.
pub fn biggest_pack(backend: &MemoryBackend) -> String {
    use crate::backend::{Backend, FileType};
    let packs = backend.list(FileType::Pack).unwrap();
    packs
        .into_iter()
        .max_by_key(|(_, size)| *size)
        .expect("a pack")
        .0
}

/// Ships `stream` as `pool/ds@<snapshot>` ([`pool_ds_manifest`]) and
/// returns the manifest's id; panics on failure.
pub fn ship_test_stream(
    repo: &mut Repository,
    stream: &[u8],
    snapshot: &str,
    guid: u64,
    base: Option<u64>,
) -> Id {
    crate::ship::ship_stream(
        repo,
        stream,
        pool_ds_manifest(snapshot, guid, base),
        &crate::progress::NoProgress,
    )
    .unwrap()
}

/// `check --read-data` of every pack; panics if the check cannot run.
pub fn check_all_data(repo: &Repository) -> crate::check::CheckReport {
    crate::check::check(
        repo,
        crate::check::CheckOptions {
            read_data: Some(crate::check::ReadData::Sample(100.0)),
        },
        &crate::progress::NoProgress,
    )
    .unwrap()
}
