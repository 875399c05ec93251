//! Authenticated encryption (XChaCha20-Poly1305) and keyed chunk ids (BLAKE3).
//!
//! A sealed box is `nonce (24 bytes) || ciphertext || tag (16 bytes)`. The
//! associated data always starts with [`AAD_MAGIC`], the format version and
//! the object type, so a box cut from one kind of object never opens as
//! another.

use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::id::Id;

/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;
/// Authentication tag length.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed box adds to its plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// First bytes of every associated-data string. Do not modify: part of format v1.
pub const AAD_MAGIC: &[u8; 4] = b"BKUP";
/// The format version bound into associated data.
pub const FORMAT_VERSION: u8 = 1;

/// What a sealed box holds; bound into its associated data.
/// The numbers are part of format v1: do not modify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ObjectType {
    /// A master key wrapped by a passphrase-derived key (keys/).
    KeySlot = 1,
    /// The private body of the repository config.
    Config = 2,
    /// A data blob inside a pack.
    Blob = 3,
    /// The trailer listing a pack's blobs.
    PackTrailer = 4,
    /// An index segment.
    Index = 5,
    /// A snapshot manifest.
    Manifest = 6,
    /// A repository lease lock (locks/).
    Lock = 7,
}

/// Builds associated data: magic, version, type, then `context`.
pub fn aad(ty: ObjectType, context: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(6 + context.len());
    v.extend_from_slice(AAD_MAGIC);
    v.push(FORMAT_VERSION);
    v.push(ty as u8);
    v.extend_from_slice(context);
    v
}

/// Fills a buffer with random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the operating system's random source failed");
    b
}

/// Seals `plaintext` under `key` with a fresh random nonce.
pub fn seal_with(key: &[u8; 32], ty: ObjectType, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    seal_with_nonce(key, &random_bytes::<NONCE_LEN>(), ty, context, plaintext)
}

/// Seals with a given nonce. Only tests pin nonces; everything else uses [`seal_with`].
pub fn seal_with_nonce(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    ty: ObjectType,
    context: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let aad = aad(ty, context);
    let ct = cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    out
}

/// [`seal_with`], appending the sealed box (nonce, ciphertext, tag) to
/// `out`: the plaintext is copied once, into `out`, and encrypted there.
pub fn seal_into(
    key: &[u8; 32],
    ty: ObjectType,
    context: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let nonce = random_bytes::<NONCE_LEN>();
    out.reserve(SEAL_OVERHEAD + plaintext.len());
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let cipher = XChaCha20Poly1305::new(key.into());
    let tag = cipher
        .encrypt_in_place_detached(
            XNonce::from_slice(&nonce),
            &aad(ty, context),
            &mut out[start..],
        )
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
    out.extend_from_slice(&tag);
}

/// Opens a sealed box; `None` if it is too short or fails authentication.
pub fn open_with(key: &[u8; 32], ty: ObjectType, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < SEAL_OVERHEAD {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.into());
    let aad = aad(ty, context);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .ok()
}

/// The keys of an unlocked repository, all derived from the 256-bit master key.
#[derive(Clone)]
pub struct Keys {
    master: [u8; 32],
    encrypt: [u8; 32],
    chunk_id: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// Context strings of the key derivations. Do not modify: part of format v1.
const KDF_ENCRYPT: &str = "backup 2026-11 repository v1 encryption key";
const KDF_CHUNK_ID: &str = "backup 2026-11 repository v1 chunk id key";
const KDF_CHUNKER_SEED: &str = "backup 2026-11 repository v1 chunker seed";

impl Keys {
    /// Derives the working keys from a master key.
    pub fn from_master(master: [u8; 32]) -> Keys {
        Keys {
            encrypt: blake3::derive_key(KDF_ENCRYPT, &master),
            chunk_id: blake3::derive_key(KDF_CHUNK_ID, &master),
            master,
        }
    }

    /// A fresh random master key.
    pub fn generate() -> Keys {
        Keys::from_master(random_bytes())
    }

    /// The master key, for wrapping into a key slot.
    pub fn master(&self) -> &[u8; 32] {
        &self.master
    }

    /// The id of a chunk: BLAKE3 keyed with a key derived from the master key,
    /// so the storage learns nothing from ids.
    pub fn chunk_id(&self, data: &[u8]) -> Id {
        Id(*blake3::keyed_hash(&self.chunk_id, data).as_bytes())
    }

    /// The seed of the chunker's gear table, secret so that chunk boundaries
    /// do not reveal content.
    pub fn chunker_seed(&self) -> u64 {
        let k = blake3::derive_key(KDF_CHUNKER_SEED, &self.master);
        u64::from_le_bytes(k[..8].try_into().expect("8 bytes"))
    }

    /// Seals a repository object.
    pub fn seal(&self, ty: ObjectType, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.encrypt, ty, context, plaintext)
    }

    /// [`seal`](Self::seal), appending to `out` ([`seal_into`]).
    pub fn seal_into(&self, ty: ObjectType, context: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        seal_into(&self.encrypt, ty, context, plaintext, out);
    }

    /// Opens a repository object.
    pub fn open(&self, ty: ObjectType, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        open_with(&self.encrypt, ty, context, sealed)
    }

    #[cfg(test)]
    pub(crate) fn encrypt_key(&self) -> &[u8; 32] {
        &self.encrypt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = Keys::from_master([7; 32]);
        let s = k.seal(ObjectType::Index, b"ctx", b"hello");
        assert_eq!(s.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(k.open(ObjectType::Index, b"ctx", &s).unwrap(), b"hello");
        assert!(k.open(ObjectType::Manifest, b"ctx", &s).is_none());
        assert!(k.open(ObjectType::Index, b"other", &s).is_none());
        let mut t = s.clone();
        t[30] ^= 1;
        assert!(k.open(ObjectType::Index, b"ctx", &t).is_none());
        assert!(k.open(ObjectType::Index, b"ctx", &s[..10]).is_none());
        let other = Keys::from_master([8; 32]);
        assert!(other.open(ObjectType::Index, b"ctx", &s).is_none());
    }

    #[test]
    fn seal_into_appends_a_box_that_opens_like_seal_s() {
        let k = Keys::from_master([7; 32]);
        let mut out = b"head".to_vec();
        k.seal_into(ObjectType::Blob, b"ctx", b"hello world", &mut out);
        assert_eq!(&out[..4], b"head");
        assert_eq!(out.len(), 4 + 11 + SEAL_OVERHEAD);
        assert_eq!(
            k.open(ObjectType::Blob, b"ctx", &out[4..]).unwrap(),
            b"hello world"
        );
        assert!(k.open(ObjectType::Index, b"ctx", &out[4..]).is_none());
    }

    #[test]
    fn chunk_ids_are_keyed() {
        let a = Keys::from_master([1; 32]);
        let b = Keys::from_master([2; 32]);
        assert_ne!(a.chunk_id(b"x"), b.chunk_id(b"x"));
        assert_ne!(a.chunk_id(b"x"), Id::of_bytes(b"x"));
    }
}
