//! Entry points of the fuzz targets (`fuzz/fuzz_targets/`, docs/design.md
//! §11.5): one function per decoder of a repository object, each feeding
//! untrusted bytes to the real decoder under a fixed test key, and the
//! seed corpus those targets start from ([`seeds`]).
//!
//! Compiled only for this crate's tests and with the `fuzzing` feature,
//! which only the `fuzz/` package enables. Nothing here weakens a
//! decoder: the `*_opened` functions the `_opened` targets call are the
//! second half of each sealed decoder (what it does once the box has
//! authenticated), split out so that a fuzzer, which cannot forge a tag,
//! reaches the parsing.
//!
//! Every driver returns whether the input decoded; the targets ignore it,
//! the seed tests check it. A driver panics only when a decoder broke a
//! promise (a panic, or a decoded value that does not encode back).

mod seeds;

#[cfg(test)]
mod tests;

use std::sync::OnceLock;

pub use seeds::seeds;

use crate::crypto::Keys;
use crate::format::{blob, config, file_list, index, manifest, pack};
use crate::id::Id;
use crate::keyslot::{KdfLimits, KdfParams, KeySlot};
use crate::records::{join, Lane, Splitter};

/// The master key every target and seed uses. Not a secret.
pub const MASTER: [u8; 32] = [0x5a; 32];
/// The repository id of the seeds' config and key slot.
pub const REPOSITORY: Id = Id([0xa5; 32]);
/// The passphrase of the seed key slot.
pub const PASSPHRASE: &[u8] = b"fuzz";
/// The dearest Argon2id costs the key-slot target pays to try a slot:
/// a fuzzer's slot asking for more is checked, never derived.
pub const SLOT_COSTS: KdfParams = KdfParams {
    memory_kib: 256,
    iterations: 2,
    parallelism: 2,
};

/// The keys derived from [`MASTER`].
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys::from_master(MASTER))
}

/// Splits off the mode byte of a two-layer target: `(true, rest)` if the
/// input starts with an even byte (the compressed layer), `(false, rest)`
/// for the inner layer. `None` for an empty input.
fn mode(data: &[u8]) -> Option<(bool, &[u8])> {
    let (first, rest) = data.split_first()?;
    Some((first % 2 == 0, rest))
}

/// A stored blob (`blob.rs`), as a pack holds it.
pub fn blob(data: &[u8]) -> bool {
    let header = blob::Header::parse(data);
    let decoded = blob::decode(keys(), data, None);
    if let Ok(h) = header {
        let _ = blob::decode(keys(), data, Some(&h.id));
    }
    decoded.is_ok()
}

/// A blob past its sealed box: the 48-byte header, then the plaintext
/// payload (zstd or not, as the header says).
pub fn blob_opened(data: &[u8]) -> bool {
    let Some(header) = data.get(..blob::HEADER_LEN) else {
        return false;
    };
    let Ok(h) = blob::Header::parse(header) else {
        return false;
    };
    let payload = data[blob::HEADER_LEN..].to_vec();
    blob::decode_opened(keys(), &h, payload).is_ok()
}

/// A whole pack (`pack.rs`): header, footer, sealed trailer.
pub fn pack(data: &[u8]) -> bool {
    if let Some(at) = data.len().checked_sub(pack::FOOTER_LEN) {
        let _ = pack::footer_trailer_len(&data[at..]);
    }
    pack::parse(keys(), data).is_ok()
}

/// A pack trailer past its sealed box: where the pack's blobs end (u64
/// LE), then the trailer's plaintext.
pub fn pack_trailer(data: &[u8]) -> bool {
    let Some((end, trailer)) = data.split_first_chunk::<8>() else {
        return false;
    };
    let blobs_end = u64::from_le_bytes(*end);
    let Ok(entries) = pack::parse_trailer_opened(trailer, blobs_end) else {
        return false;
    };
    // What the index infers from the entries must not overflow either.
    let _ = pack::implied_len(&entries);
    true
}

/// A stored index segment (`index.rs`).
pub fn index_segment(data: &[u8]) -> bool {
    index::decode_segment(keys(), data).is_ok()
}

/// An index segment past its sealed box: after the mode byte, the zstd
/// frame ([`index::decode_segment_opened`], even mode byte) or the
/// decompressed segment ([`index::parse_segment`], odd).
pub fn index_segment_opened(data: &[u8]) -> bool {
    let Some((compressed, rest)) = mode(data) else {
        return false;
    };
    let parsed = if compressed {
        index::decode_segment_opened(rest)
    } else {
        index::parse_segment(rest)
    };
    let Ok(packs) = parsed else {
        return false;
    };
    let mut idx = index::Index::new();
    for p in &packs {
        idx.add_pack(p);
    }
    true
}

/// A stored snapshot manifest (`manifest.rs`).
pub fn manifest(data: &[u8]) -> bool {
    manifest::decode(keys(), data).is_ok()
}

/// A manifest past its sealed box: after the mode byte, the zstd frame
/// (even) or the JSON (odd). A manifest that parses encodes and parses
/// back to itself.
pub fn manifest_opened(data: &[u8]) -> bool {
    let Some((compressed, rest)) = mode(data) else {
        return false;
    };
    let parsed = if compressed {
        manifest::decode_opened(rest)
    } else {
        manifest::parse_json(rest)
    };
    let Ok(m) = parsed else {
        return false;
    };
    let again = manifest::decode(keys(), &manifest::encode(keys(), &m)).map(without_seconds);
    assert_eq!(
        again,
        Ok(without_seconds(m)),
        "manifest does not round-trip"
    );
    true
}

/// `m` with its durations zeroed: JSON need not carry a float back to
/// the last bit.
fn without_seconds(mut m: manifest::Manifest) -> manifest::Manifest {
    m.stats.seconds = 0.0;
    if let Some(f) = &mut m.files {
        f.seconds = 0.0;
    }
    m
}

/// An encoded file list (`file_list/encode.rs`), as its chunks join up:
/// not sealed on its own. A list that decodes encodes to the same bytes
/// (the encoding is deterministic, design §17.2).
pub fn file_list(data: &[u8]) -> bool {
    let Ok(list) = file_list::decode(data) else {
        return false;
    };
    assert_eq!(
        file_list::encode(&list),
        data,
        "file list does not re-encode to its bytes"
    );
    true
}

/// A key slot (`keyslot.rs`), JSON. A slot whose costs are within
/// [`SLOT_COSTS`] is tried with [`PASSPHRASE`]; one that opens must hold
/// [`MASTER`].
pub fn key_slot(data: &[u8]) -> bool {
    let Ok(slot) = KeySlot::from_bytes("fuzz", data) else {
        return false;
    };
    let _ = slot.validate("fuzz", &REPOSITORY);
    let cheap = KdfLimits {
        memory_kib: SLOT_COSTS.memory_kib,
        iterations: SLOT_COSTS.iterations,
        parallelism: SLOT_COSTS.parallelism,
    };
    if KdfLimits::DEFAULT.check(&slot.params).is_err() || cheap.check(&slot.params).is_err() {
        return true;
    }
    if let Ok(Some(k)) = slot.unwrap("fuzz", &REPOSITORY, PASSPHRASE) {
        assert_eq!(k.master(), &MASTER, "a key slot opened to another key");
    }
    true
}

/// The stored repository config (`config.rs`): public header, sealed body.
pub fn config(data: &[u8]) -> bool {
    let _ = config::parse_header(data);
    let _ = config::body_opens_under(keys(), data, &REPOSITORY);
    config::decode_body(keys(), data).is_ok()
}

/// The config's body past its sealed box: JSON.
pub fn config_body(data: &[u8]) -> bool {
    config::decode_body_opened(data).is_ok()
}

/// A `zfs send` stream cut into the meta and data lanes of the `records`
/// layout (`records.rs`) and joined again, as a ship and a restore do:
/// the first byte sets the size of the pieces the splitter is fed, the
/// rest is the stream. Any bytes must come back unchanged.
pub fn records(data: &[u8]) -> bool {
    let Some((piece, stream)) = data.split_first() else {
        return false;
    };
    let (mut meta, mut lane) = (Vec::new(), Vec::new());
    let mut emit = |l: Lane, b: &[u8]| {
        match l {
            Lane::Meta => meta.extend_from_slice(b),
            Lane::Data => lane.extend_from_slice(b),
        }
        Ok(())
    };
    let mut splitter = Splitter::default();
    for p in stream.chunks(usize::from(*piece) + 1) {
        splitter.feed(p, &mut emit).expect("emit does not fail");
    }
    splitter.finish(&mut emit).expect("emit does not fail");
    let mut out = Vec::new();
    join(&mut meta.as_slice(), &mut lane.as_slice(), &mut out).expect("the lanes join");
    assert_eq!(out, stream, "the lanes do not join back into the stream");
    true
}
