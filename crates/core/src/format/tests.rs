//! Pinned format vectors: a change to any of these values changes format v1;
//! and the bound on what a zstd frame may inflate to.

use crate::crypto::{seal_with_nonce, Keys, ObjectType};
use crate::format::blob;
use crate::test_support::pseudo_random;

#[test]
fn chunker_boundaries_are_pinned() {
    // Seeded FastCDC boundaries for a fixed master key: changing the chunker,
    // its parameters or the seed derivation breaks deduplication against
    // every existing repository.
    let keys = Keys::from_master([42; 32]);
    let data = pseudo_random(300_000, 7);
    let cuts: Vec<u64> = fastcdc::v2020::StreamCDC::with_level_and_seed(
        data.as_slice(),
        4096,
        16384,
        65536,
        fastcdc::v2020::Normalization::Level1,
        keys.chunker_seed(),
    )
    .map(|c| c.unwrap().offset)
    .collect();
    assert_eq!(keys.chunker_seed(), PINNED_SEED, "seed derivation changed");
    assert_eq!(cuts, PINNED_CUTS, "chunk boundaries changed");
}

const PINNED_SEED: u64 = 947027800084956869;
const PINNED_CUTS: &[u64] = &[
    0, 48711, 79209, 108946, 128342, 133993, 153389, 161793, 169952, 188034, 220558, 251200,
    272048, 277591,
];

#[test]
fn sealed_blob_is_pinned() {
    let keys = Keys::from_master([1; 32]);
    let data = b"format v1 pinned blob".repeat(8);
    let id = keys.chunk_id(&data);
    assert_eq!(id.to_hex(), PINNED_CHUNK_ID);
    let header_and_box = {
        let b = blob::encode(&keys, id, &data, 3);
        // The nonce is random; re-seal the same header with a fixed nonce.
        let header = &b[..blob::HEADER_LEN];
        let payload = zstd::bulk::compress(&data, 3).unwrap();
        let mut v = header.to_vec();
        v.extend(seal_with_nonce(
            keys.encrypt_key(),
            &[9; 24],
            ObjectType::Blob,
            header,
            &payload,
        ));
        v
    };
    assert_eq!(
        blake3::hash(&header_and_box).to_hex().as_str(),
        PINNED_BLOB_DIGEST
    );
    assert_eq!(
        blob::decode(&keys, &header_and_box, Some(&id)).unwrap(),
        data
    );
}

const PINNED_CHUNK_ID: &str = "528490c91b4988748893251108f65db640f8b85bdd7bd28b84b6fe5afeabf58e";
const PINNED_BLOB_DIGEST: &str = "6e8e38ea882b47b89c11362b7d03a6502096d49efd87d012de80ed6b30caa216";

#[test]
fn a_frame_that_inflates_past_its_limit_is_refused() {
    // 1 MiB of zeros is a frame of a few dozen bytes: without a limit, a
    // manifest or index segment of a few KiB could ask for gigabytes.
    let z = zstd::bulk::compress(&[0u8; 1 << 20], 3).unwrap();
    assert!(z.len() < 1000);
    let e = crate::format::inflate(&z, (1 << 20) - 1).unwrap_err();
    assert!(e.contains("more than 1048575 bytes"), "{e}");
    assert_eq!(crate::format::inflate(&z, 1 << 20).unwrap().len(), 1 << 20);
    assert!(crate::format::inflate(b"not zstd", 100)
        .unwrap_err()
        .contains("does not decompress"));
}
