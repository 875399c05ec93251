//! An open, unlocked repository: backend, keys, config, manifests, and the
//! pack store that owns packs and the blob index.

use std::path::PathBuf;
use std::sync::Arc;

use crate::backend::{Backend, FileType};
use crate::crypto::Keys;
use crate::error::{Error, Result};
use crate::format::config::{self, ConfigBody};
use crate::format::index::Index;
use crate::format::manifest::{self, Manifest};
use crate::id::{check_name, Id};
use crate::keyslot::{KdfLimits, KdfParams, KeySlot};
use crate::pack_store::{pack_usage, PackStore, PackUsage};

/// Choices made once, at `init`.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Argon2id costs of the first key slot.
    pub kdf: KdfParams,
    /// Chunker, pack size, compression.
    pub config: ConfigBody,
}

/// How [`Repository::open_with_limits`] and [`Repository::open_with_key`]
/// open a repository. A [`KdfLimits`] converts into it (no cache).
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The Argon2id costs accepted from a key slot.
    pub kdf: KdfLimits,
    /// A directory of local caches that can be thrown away. With it, the
    /// blob index is kept in a sorted table on disk under `index/`
    /// (design §12.4) instead of in memory, and an open reads only the
    /// index segments written since the last.
    pub cache_dir: Option<PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        KdfLimits::DEFAULT.into()
    }
}

impl From<KdfLimits> for OpenOptions {
    fn from(kdf: KdfLimits) -> OpenOptions {
        OpenOptions {
            kdf,
            cache_dir: None,
        }
    }
}

impl OpenOptions {
    /// The index table's directory for the repository `id` at `location`:
    /// one per repository and place (two copies of a repository diverge).
    fn table_dir(&self, id: &Id, location: &str) -> Option<PathBuf> {
        let key = Id::of_bytes(format!("{id}\n{location}").as_bytes()).to_hex();
        Some(self.cache_dir.as_ref()?.join("index").join(&key[..32]))
    }
}

/// An unlocked repository.
pub struct Repository {
    backend: Arc<dyn Backend>,
    id: Id,
    keys: Keys,
    config: ConfigBody,
    packs: PackStore,
    key: OpenedKey,
}

/// The key slot a repository was opened with.
#[derive(Clone)]
struct OpenedKey {
    name: String,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Repository({} at {})",
            self.id.short(),
            self.backend.location()
        )
    }
}

impl Repository {
    /// Creates a repository: layout, config, and a first key slot for `passphrase`.
    pub fn init(
        backend: Arc<dyn Backend>,
        passphrase: &[u8],
        opts: InitOptions,
    ) -> Result<Repository> {
        opts.config.chunker.validate()?;
        if !(1..=64 * 1024 * 1024).contains(&opts.config.pack_size) {
            return Err(Error::Invalid {
                what: "pack size".into(),
                reason: format!("{} is not between 1 byte and 64 MiB", opts.config.pack_size),
            });
        }
        backend.create()?;
        let id = Id::random();
        let keys = Keys::generate();
        let slot = KeySlot::wrap(&keys, &id, passphrase, opts.kdf)?;
        let slot_bytes = slot.to_bytes();
        // The key first: a config without a key would be a repository nobody can open.
        let key = OpenedKey {
            name: Id::of_bytes(&slot_bytes).to_hex(),
            bytes: slot_bytes,
        };
        backend.write(FileType::Key, &key.name, &key.bytes)?;
        backend.write(
            FileType::Config,
            "config",
            &config::encode(&keys, &id, &opts.config),
        )?;
        Ok(Repository {
            packs: PackStore::new(backend.clone(), keys.clone()),
            backend,
            id,
            keys,
            config: opts.config,
            key,
        })
    }

    /// The id of the repository at `backend`, from the config's public
    /// header: no passphrase needed (it names the local catalog).
    pub fn peek_id(backend: &dyn Backend) -> Result<Id> {
        read_header(backend)
    }

    /// Opens a repository with a passphrase, trying every key slot whose
    /// costs are within [`KdfLimits::DEFAULT`].
    pub fn open(backend: Arc<dyn Backend>, passphrase: &[u8]) -> Result<Repository> {
        Repository::open_with_limits(backend, passphrase, KdfLimits::DEFAULT)
    }

    /// Opens a repository with a passphrase, trying the key slots cheapest
    /// first and skipping those whose stored costs exceed `limits`, so that
    /// a tampered slot can neither exhaust memory nor stall the others.
    pub fn open_with_limits(
        backend: Arc<dyn Backend>,
        passphrase: &[u8],
        options: impl Into<OpenOptions>,
    ) -> Result<Repository> {
        let options = options.into();
        let limits = options.kdf;
        let id = read_header(&*backend)?;
        let names = backend.list(FileType::Key)?;
        if names.is_empty() {
            return Err(Error::NoKeys {
                location: backend.location(),
            });
        }
        // A damaged or foreign slot must not hide a good one: read them all,
        // try them cheapest first, and name the unreadable ones only if none
        // opens.
        let mut unreadable = Vec::new();
        let mut skipped = Vec::new();
        let mut slots = Vec::new();
        for (name, _) in &names {
            match backend
                .read(FileType::Key, name)
                .and_then(|bytes| Ok((KeySlot::from_bytes(name, &bytes)?, bytes)))
            {
                Ok((slot, bytes)) => match limits.check(&slot.params) {
                    Ok(()) => slots.push((name, slot, bytes)),
                    Err(over) => skipped.push(format!("{name}: {over}")),
                },
                Err(e) => unreadable.push(e),
            }
        }
        slots.sort_by_key(|(name, slot, _)| (slot.params.cost(), (*name).clone()));
        // Slots naming another repository than the config's header: if
        // every readable slot does, the header is what is damaged.
        let mut foreign = Vec::new();
        let mut tried = 0;
        for (name, slot, bytes) in &slots {
            if slot.repository != id.to_hex() {
                foreign.push((*name, slot));
            }
            match slot.unwrap(name, &id, passphrase) {
                Ok(Some(keys)) => {
                    let key = OpenedKey {
                        name: (*name).clone(),
                        bytes: bytes.clone(),
                    };
                    return Repository::unlocked(backend, id, keys, key, &options);
                }
                Ok(None) => tried += 1,
                Err(e) => unreadable.push(e),
            }
        }
        if !skipped.is_empty() {
            return Err(Error::KdfTooCostly {
                repo: backend.location(),
                skipped: skipped.join("; "),
            });
        }
        if !slots.is_empty() && foreign.len() == slots.len() {
            return Err(config_mismatch(&*backend, &id, &foreign, passphrase));
        }
        if tried == 0 {
            // No intact slot at all: the one for this passphrase is among
            // the damaged ones, if it exists.
            if names.len() == 1 {
                if let Some(e) = unreadable.pop() {
                    return Err(e);
                }
            }
            if !unreadable.is_empty() && unreadable.iter().all(Error::is_integrity) {
                return Err(Error::corrupt(
                    format!("every key slot of repository {}", backend.location()),
                    unreadable
                        .iter()
                        .map(Error::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                ));
            }
        }
        Err(Error::WrongPassphrase {
            repo: backend.location(),
            slots: names.len(),
            unusable: unreadable.iter().map(Error::to_string).collect(),
        })
    }

    /// Opens a repository with an exported key file and its passphrase,
    /// ignoring the key slots stored in the repository; its costs must be
    /// within `limits`.
    pub fn open_with_key(
        backend: Arc<dyn Backend>,
        key_name: &str,
        key: &[u8],
        passphrase: &[u8],
        options: impl Into<OpenOptions>,
    ) -> Result<Repository> {
        let options = options.into();
        let limits = options.kdf;
        let id = read_header(&*backend)?;
        let slot = KeySlot::from_bytes(key_name, key)?;
        if let Err(over) = limits.check(&slot.params) {
            return Err(Error::KdfTooCostly {
                repo: backend.location(),
                skipped: format!("the key file {key_name}: {over}"),
            });
        }
        match slot.unwrap(key_name, &id, passphrase)? {
            Some(keys) => {
                let opened = OpenedKey {
                    name: key_name.to_string(),
                    bytes: key.to_vec(),
                };
                Repository::unlocked(backend, id, keys, opened, &options)
            }
            None => Err(Error::WrongPassphrase {
                repo: backend.location(),
                slots: 1,
                unusable: Vec::new(),
            }),
        }
    }

    fn unlocked(
        backend: Arc<dyn Backend>,
        id: Id,
        keys: Keys,
        key: OpenedKey,
        options: &OpenOptions,
    ) -> Result<Repository> {
        let config = config::decode_body(&keys, &backend.read(FileType::Config, "config")?)?;
        let table_dir = options.table_dir(&id, &backend.location());
        Ok(Repository {
            packs: PackStore::open(backend.clone(), keys.clone(), table_dir)?,
            backend,
            id,
            keys,
            config,
            key,
        })
    }

    /// Reads every index segment again. A segment that cannot be read is
    /// skipped and remembered in [`index_problems`](Self::index_problems):
    /// the repository stays usable (`check` names it; a restore that needs
    /// its blobs fails naming the missing chunk).
    pub fn reload_index(&mut self) -> Result<()> {
        self.packs.reload_index()
    }

    /// Index segments that could not be read when the index was loaded.
    pub fn index_problems(&self) -> &[String] {
        self.packs.index_problems()
    }

    /// Ids of every snapshot manifest.
    pub fn manifest_ids(&self) -> Result<Vec<Id>> {
        self.backend
            .list(FileType::Snapshot)?
            .into_iter()
            .map(|(n, _)| {
                n.parse()
                    .map_err(|_| Error::corrupt(format!("snapshots/{n}"), "name is not an id"))
            })
            .collect()
    }

    /// Reads one manifest, checking its name and authenticity.
    pub fn read_manifest(&self, id: &Id) -> Result<Manifest> {
        let name = id.to_hex();
        let bytes = self.backend.read(FileType::Snapshot, &name)?;
        check_name("snapshot manifest", &name, &bytes)?;
        manifest::decode(&self.keys, &bytes)
            .map_err(|r| Error::corrupt(format!("snapshot manifest {name}"), r))
    }

    /// Every manifest with its id.
    pub fn manifests(&self) -> Result<Vec<(Id, Manifest)>> {
        self.manifest_ids()?
            .into_iter()
            .map(|id| Ok((id, self.read_manifest(&id)?)))
            .collect()
    }

    /// Writes a manifest: the commit point of a ship.
    pub fn write_manifest(&self, m: &Manifest) -> Result<Id> {
        let bytes = manifest::encode(&self.keys, m);
        let id = Id::of_bytes(&bytes);
        self.backend
            .write(FileType::Snapshot, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    /// Removes a manifest (`forget`): its snapshot is no longer in the
    /// repository. What only it referenced is left for prune.
    pub fn remove_manifest(&self, id: &Id) -> Result<()> {
        self.backend.remove(FileType::Snapshot, &id.to_hex())
    }

    /// How much the packs occupy (see [`crate::pack_usage`]).
    pub fn pack_usage(&self) -> Result<PackUsage> {
        pack_usage(&*self.backend)
    }

    /// Adds a key slot for another passphrase; returns its name.
    pub fn add_key(&self, passphrase: &[u8], kdf: KdfParams) -> Result<String> {
        let bytes = KeySlot::wrap(&self.keys, &self.id, passphrase, kdf)?.to_bytes();
        let name = Id::of_bytes(&bytes).to_hex();
        self.backend.write(FileType::Key, &name, &bytes)?;
        Ok(name)
    }

    /// The key slots of the repository at `backend`, by name, each parsed
    /// or the reason it cannot be. Key slots are readable without a
    /// passphrase (only the master key inside them is sealed).
    pub fn key_slots(backend: &dyn Backend) -> Result<Vec<(String, Result<KeySlot>)>> {
        let mut names: Vec<String> = backend
            .list(FileType::Key)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| {
                let slot = backend
                    .read(FileType::Key, &name)
                    .and_then(|b| KeySlot::from_bytes(&name, &b));
                (name, slot)
            })
            .collect())
    }

    /// The name of the key slot that opened this repository (for a key
    /// file, the name it was opened under).
    pub fn key_name(&self) -> &str {
        &self.key.name
    }

    /// The stored bytes of the key slot that opened this repository: an
    /// exported key. With its passphrase, [`Repository::open_with_key`]
    /// opens the repository even when its `keys/` are lost.
    pub fn key_bytes(&self) -> &[u8] {
        &self.key.bytes
    }

    /// The repository's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The private config.
    pub fn config(&self) -> &ConfigBody {
        &self.config
    }

    /// The blob index.
    pub fn index(&self) -> &Index {
        self.packs.index()
    }

    /// The backend. Packs and index segments are the pack store's
    /// (`Repository::packs`, crate-private): go through it for them.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The pack store: packs, index segments and the blob index.
    pub(crate) fn packs(&self) -> &PackStore {
        &self.packs
    }

    /// The pack store, to record newly indexed packs.
    pub(crate) fn packs_mut(&mut self) -> &mut PackStore {
        &mut self.packs
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }
}

/// The error when every readable key slot names another repository than
/// the config's public header: the header is damaged (or `keys/` holds only
/// another repository's slots). If a slot opens under the id it names and
/// the config's sealed body authenticates under that id, the header is
/// proven damaged, and the message says so.
fn config_mismatch(
    backend: &dyn Backend,
    id: &Id,
    foreign: &[(&String, &KeySlot)],
    passphrase: &[u8],
) -> Error {
    let mut named: Vec<&str> = foreign.iter().map(|(_, s)| s.repository.as_str()).collect();
    named.sort_unstable();
    named.dedup();
    let proven = backend
        .read(FileType::Config, "config")
        .ok()
        .and_then(|bytes| {
            foreign.iter().find_map(|(name, slot)| {
                let theirs: Id = slot.repository.parse().ok()?;
                let keys = slot.unwrap(name, &theirs, passphrase).ok()??;
                config::body_opens_under(&keys, &bytes, &theirs).then_some(theirs)
            })
        });
    let reason = match proven {
        Some(theirs) => format!(
            "its public header names repository {}, but its sealed body and key slot(s) belong to repository {}: the header is damaged",
            id.to_hex(),
            theirs.to_hex()
        ),
        None => format!(
            "its public header names repository {}, which none of the {} key slot(s) names (they name {}): the header is damaged, or keys/ holds another repository's slots",
            id.to_hex(),
            foreign.len(),
            named.join(", ")
        ),
    };
    Error::corrupt(
        format!("config of repository {}", backend.location()),
        reason,
    )
}

/// Reads the config's public header: the repository id.
fn read_header(backend: &dyn Backend) -> Result<Id> {
    let bytes = backend
        .read(FileType::Config, "config")
        .map_err(|e| match e {
            Error::Missing { .. } => Error::NotARepository {
                location: backend.location(),
                reason: "it has no config".into(),
            },
            other => other,
        })?;
    config::parse_header(&bytes)
}

#[cfg(test)]
mod tests;

mod reread;
