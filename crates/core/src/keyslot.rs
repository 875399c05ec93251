//! Key slots: the master key wrapped under a passphrase (Argon2id, then
//! XChaCha20-Poly1305). Stored as JSON in `keys/<id>`; the same file, copied
//! out, is an exported key for escrow.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::crypto::{self, Keys, ObjectType};
use crate::error::{Error, Result};
use crate::id::Id;

/// Argon2id cost parameters, stored in each key slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// About 64 MiB and 3 passes: a fraction of a second on a small server.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

/// The most a key slot read from storage may ask Argon2id for. A slot's
/// costs are stored beside it, where whoever can write the repository can
/// change them: without a bound, one tampered slot makes every command
/// allocate 4 TiB and abort, or run for days. Larger costs are accepted
/// only when the caller lifts the bound ([`KdfLimits::NONE`], the CLI's
/// `--allow-expensive-kdf`), and `init` and `key add` refuse to make them
/// without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfLimits {
    /// Most memory, KiB.
    pub memory_kib: u32,
    /// Most passes.
    pub iterations: u32,
    /// Most lanes.
    pub parallelism: u32,
}

impl KdfLimits {
    /// 1 GiB, 16 passes, 16 lanes: sixteen times the default memory and
    /// five times its passes, a few seconds on a small server.
    pub const DEFAULT: KdfLimits = KdfLimits {
        memory_kib: 1024 * 1024,
        iterations: 16,
        parallelism: 16,
    };
    /// No bound.
    pub const NONE: KdfLimits = KdfLimits {
        memory_kib: u32::MAX,
        iterations: u32::MAX,
        parallelism: u32::MAX,
    };

    /// `Err` says which cost of `p` is over the bound.
    pub fn check(&self, p: &KdfParams) -> std::result::Result<(), String> {
        let over = [
            ("memory_kib", p.memory_kib, self.memory_kib),
            ("iterations", p.iterations, self.iterations),
            ("parallelism", p.parallelism, self.parallelism),
        ]
        .into_iter()
        .filter(|(_, v, max)| v > max)
        .map(|(what, v, max)| format!("{what} {v} (at most {max})"))
        .collect::<Vec<_>>();
        if over.is_empty() {
            Ok(())
        } else {
            Err(over.join(", "))
        }
    }
}

impl Default for KdfLimits {
    fn default() -> Self {
        KdfLimits::DEFAULT
    }
}

impl KdfParams {
    /// A rough cost, to try cheap slots first: memory times passes.
    pub(crate) fn cost(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    fn argon2(&self, what: &str) -> Result<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| Error::Invalid {
                what: format!("Argon2id parameters of {what}"),
                reason: e.to_string(),
            })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// One key slot, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeySlot {
    /// Key slot format version (1).
    pub version: u32,
    /// The repository this key opens, hex.
    pub repository: String,
    /// Key derivation function; always "argon2id" in v1.
    pub kdf: String,
    /// Argon2id costs.
    pub params: KdfParams,
    /// Salt, hex.
    pub salt: String,
    /// When the slot was made (RFC 3339).
    pub created: String,
    /// Host that made it.
    pub hostname: String,
    /// The sealed master key, hex.
    pub sealed_master: String,
}

const KEYSLOT_VERSION: u32 = 1;
/// Bytes of a slot's salt.
const SALT_LEN: usize = 16;
/// Bytes of a slot's sealed master key: a sealed box of 32 bytes.
const SEALED_MASTER_LEN: usize = 32 + crypto::SEAL_OVERHEAD;

impl KeySlot {
    /// Wraps `keys`' master key under `passphrase`.
    pub fn wrap(
        keys: &Keys,
        repo_id: &Id,
        passphrase: &[u8],
        params: KdfParams,
    ) -> Result<KeySlot> {
        let salt: [u8; SALT_LEN] = crypto::random_bytes();
        let wrapping = derive(passphrase, &salt, &params, "a new key slot")?;
        let sealed = crypto::seal_with(&wrapping, ObjectType::KeySlot, &repo_id.0, keys.master());
        Ok(KeySlot {
            version: KEYSLOT_VERSION,
            repository: repo_id.to_hex(),
            kdf: "argon2id".into(),
            params,
            salt: hex::encode(salt),
            created: jiff::Timestamp::now().to_string(),
            hostname: backup_zfs::host::hostname(),
            sealed_master: hex::encode(sealed),
        })
    }

    /// Tries to unwrap with `passphrase`: `Ok(None)` if the passphrase does not
    /// open this slot, an error if the slot itself is unreadable
    /// ([`KeySlot::validate`]).
    pub fn unwrap(&self, name: &str, repo_id: &Id, passphrase: &[u8]) -> Result<Option<Keys>> {
        let (salt, sealed) = self.validate(name, repo_id)?;
        let wrapping = derive(passphrase, &salt, &self.params, &format!("key {name}"))?;
        Ok(
            crypto::open_with(&wrapping, ObjectType::KeySlot, &repo_id.0, &sealed)
                .and_then(|m| <[u8; 32]>::try_from(m.as_slice()).ok())
                .map(Keys::from_master),
        )
    }

    /// Checks what can be checked without the passphrase: a known version
    /// and kdf (else [`Error::Unsupported`]), that the slot names
    /// `repo_id` (else [`Error::Invalid`]), and that its salt and sealed
    /// master key are hex of the right lengths (else [`Error::Corrupt`]).
    /// Returns the salt and the sealed master key.
    pub fn validate(&self, name: &str, repo_id: &Id) -> Result<(Vec<u8>, Vec<u8>)> {
        if self.version != KEYSLOT_VERSION || self.kdf != "argon2id" {
            return Err(Error::Unsupported {
                object: format!("key {name}"),
                what: "key slot version/kdf",
                value: format!("{}/{}", self.version, self.kdf),
                known: format!("{KEYSLOT_VERSION}/argon2id"),
            });
        }
        if self.repository != repo_id.to_hex() {
            return Err(Error::Invalid {
                what: format!("key {name}"),
                reason: format!(
                    "it belongs to repository {}, not {}",
                    self.repository,
                    repo_id.to_hex()
                ),
            });
        }
        let salt = hex::decode(&self.salt)
            .map_err(|_| Error::corrupt(format!("key {name}"), "salt is not hex"))?;
        let sealed = hex::decode(&self.sealed_master)
            .map_err(|_| Error::corrupt(format!("key {name}"), "sealed key is not hex"))?;
        if salt.len() != SALT_LEN || sealed.len() != SEALED_MASTER_LEN {
            return Err(Error::corrupt(
                format!("key {name}"),
                format!(
                    "salt is {} bytes (not {SALT_LEN}) or sealed key {} bytes (not {SEALED_MASTER_LEN})",
                    salt.len(),
                    sealed.len()
                ),
            ));
        }
        Ok((salt, sealed))
    }

    /// Serialised form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("key slot serialises");
        v.push(b'\n');
        v
    }

    /// Parses a stored key slot; `name` is used in errors.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<KeySlot> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt(format!("key {name}"), e.to_string()))
    }
}

fn derive(passphrase: &[u8], salt: &[u8], params: &KdfParams, what: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    params
        .argon2(what)?
        .hash_password_into(passphrase, salt, &mut out)
        .map_err(|e| Error::Invalid {
            what: format!("passphrase derivation for {what}"),
            reason: e.to_string(),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn wrap_unwrap() {
        let keys = Keys::generate();
        let repo = Id::random();
        let slot = KeySlot::wrap(&keys, &repo, b"secret", CHEAP).unwrap();
        let back = KeySlot::from_bytes("k", &slot.to_bytes()).unwrap();
        let got = back.unwrap("k", &repo, b"secret").unwrap().unwrap();
        assert_eq!(got.master(), keys.master());
        assert!(back.unwrap("k", &repo, b"wrong").unwrap().is_none());
        assert!(back.unwrap("k", &Id::random(), b"secret").is_err());
    }

    #[test]
    fn a_slot_with_a_sealed_key_of_the_wrong_length_is_corrupt() {
        let repo = Id::random();
        let mut slot = KeySlot::wrap(&Keys::generate(), &repo, b"secret", CHEAP).unwrap();
        slot.sealed_master.truncate(100);
        assert!(matches!(
            slot.unwrap("k", &repo, b"secret"),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(KeySlot::from_bytes("k", b"{not json").is_err());
    }
}
