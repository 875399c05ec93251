//! An open, unlocked repository: backend, keys, config and the blob index.

use std::sync::Arc;

use crate::backend::{Backend, FileType};
use crate::crypto::Keys;
use crate::error::{Error, Result};
use crate::format::config::{self, ConfigBody};
use crate::format::index::{self, Index, PackBlobs};
use crate::format::{blob, manifest};
use crate::id::Id;
use crate::keyslot::{KdfParams, KeySlot};
use crate::Manifest;

/// Choices made once, at `init`.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Argon2id costs of the first key slot.
    pub kdf: KdfParams,
    /// Chunker, pack size, compression.
    pub config: ConfigBody,
}

/// An unlocked repository.
pub struct Repository {
    backend: Arc<dyn Backend>,
    id: Id,
    keys: Keys,
    config: ConfigBody,
    index: Index,
    index_problems: Vec<String>,
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
            backend,
            id,
            keys,
            config: opts.config,
            index: Index::new(),
            index_problems: Vec::new(),
            key,
        })
    }

    /// The id of the repository at `backend`, from the config's public
    /// header: no passphrase needed (it names the local catalog).
    pub fn peek_id(backend: &dyn Backend) -> Result<Id> {
        read_header(backend)
    }

    /// Opens a repository with a passphrase, trying every key slot.
    pub fn open(backend: Arc<dyn Backend>, passphrase: &[u8]) -> Result<Repository> {
        let id = read_header(&*backend)?;
        let names = backend.list(FileType::Key)?;
        if names.is_empty() {
            return Err(Error::NoKeys {
                location: backend.location(),
            });
        }
        // A damaged or foreign slot must not hide a good one: try them all,
        // and name the unreadable ones only if none opens.
        let mut unreadable = Vec::new();
        for (name, _) in &names {
            let opened = backend.read(FileType::Key, name).and_then(|bytes| {
                let keys = KeySlot::from_bytes(name, &bytes)?.unwrap(name, &id, passphrase)?;
                Ok(keys.map(|k| (k, bytes)))
            });
            match opened {
                Ok(Some((keys, bytes))) => {
                    let key = OpenedKey {
                        name: name.clone(),
                        bytes,
                    };
                    return Repository::unlocked(backend, id, keys, key);
                }
                Ok(None) => {}
                Err(e) => unreadable.push(e),
            }
        }
        match unreadable.into_iter().next() {
            Some(e) if names.len() == 1 => Err(e),
            _ => Err(Error::WrongPassphrase {
                repo: backend.location(),
                slots: names.len(),
            }),
        }
    }

    /// Opens a repository with an exported key file and its passphrase,
    /// ignoring the key slots stored in the repository.
    pub fn open_with_key(
        backend: Arc<dyn Backend>,
        key_name: &str,
        key: &[u8],
        passphrase: &[u8],
    ) -> Result<Repository> {
        let id = read_header(&*backend)?;
        let slot = KeySlot::from_bytes(key_name, key)?;
        match slot.unwrap(key_name, &id, passphrase)? {
            Some(keys) => {
                let opened = OpenedKey {
                    name: key_name.to_string(),
                    bytes: key.to_vec(),
                };
                Repository::unlocked(backend, id, keys, opened)
            }
            None => Err(Error::WrongPassphrase {
                repo: backend.location(),
                slots: 1,
            }),
        }
    }

    fn unlocked(
        backend: Arc<dyn Backend>,
        id: Id,
        keys: Keys,
        key: OpenedKey,
    ) -> Result<Repository> {
        let config = config::decode_body(&keys, &backend.read(FileType::Config, "config")?)?;
        let mut repo = Repository {
            backend,
            id,
            keys,
            config,
            index: Index::new(),
            index_problems: Vec::new(),
            key,
        };
        repo.reload_index()?;
        Ok(repo)
    }

    /// Reads every index segment again. A segment that cannot be read is
    /// skipped and remembered in [`index_problems`](Self::index_problems):
    /// the repository stays usable (`check` names it; a restore that needs
    /// its blobs fails naming the missing chunk).
    pub fn reload_index(&mut self) -> Result<()> {
        let mut index = Index::new();
        let mut problems = Vec::new();
        for (name, _) in self.backend.list(FileType::Index)? {
            match self.read_index_segment(&name) {
                Ok(packs) => packs.iter().for_each(|p| index.add_pack(p)),
                Err(e @ Error::Backend { .. }) => return Err(e),
                Err(e) => problems.push(e.to_string()),
            }
        }
        self.index = index;
        self.index_problems = problems;
        Ok(())
    }

    /// Index segments that could not be read when the index was loaded.
    pub fn index_problems(&self) -> &[String] {
        &self.index_problems
    }

    /// Reads and checks one index segment.
    pub fn read_index_segment(&self, name: &str) -> Result<Vec<PackBlobs>> {
        let bytes = self.backend.read(FileType::Index, name)?;
        check_name("index segment", name, &bytes)?;
        index::decode_segment(&self.keys, &bytes)
            .map_err(|r| Error::corrupt(format!("index segment {name}"), r))
    }

    /// Writes an index segment; its packs must already be durable.
    pub fn write_index_segment(&self, packs: &[PackBlobs]) -> Result<Id> {
        let bytes = index::encode_segment(&self.keys, packs);
        let id = Id::of_bytes(&bytes);
        self.backend.write(FileType::Index, &id.to_hex(), &bytes)?;
        Ok(id)
    }

    /// Adds packs to the in-memory index (after their segment is written).
    pub(crate) fn index_packs(&mut self, packs: &[PackBlobs]) {
        for p in packs {
            self.index.add_pack(p);
        }
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

    /// Reads, opens and verifies one blob.
    pub fn read_blob(&self, id: &Id) -> Result<Vec<u8>> {
        let loc = self.index.get(id).ok_or_else(|| Error::Missing {
            kind: "chunk",
            name: id.to_hex(),
        })?;
        let pack = self.index.pack_id(loc.pack);
        let bytes = self.backend.read_range(
            FileType::Pack,
            &pack.to_hex(),
            loc.offset.into(),
            loc.length.into(),
        )?;
        blob::decode(&self.keys, &bytes, Some(id))
            .map_err(|r| Error::corrupt(format!("pack {pack}"), r))
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
        &self.index
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }
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

/// Content-addressed objects must hash to their names.
pub(crate) fn check_name(kind: &str, name: &str, bytes: &[u8]) -> Result<()> {
    if Id::of_bytes(bytes).to_hex() != name {
        return Err(Error::corrupt(
            format!("{kind} {name}"),
            "content does not match its name",
        ));
    }
    Ok(())
}
