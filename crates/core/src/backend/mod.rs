//! Where repository objects live.
//!
//! A backend stores whole, immutable objects under (type, name). The
//! repository never rewrites an object in place: a new version of anything is
//! a new object with a new name, and old ones are removed only after their
//! replacements are durable.

mod local;
mod memory;

pub use local::LocalBackend;
pub use memory::MemoryBackend;

use crate::error::Result;

/// The kinds of repository object, each in its own directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileType {
    /// `config`: the single repository configuration object.
    Config,
    /// `keys/<id>`: key slots.
    Key,
    /// `data/<xx>/<id>`: packs of blobs.
    Pack,
    /// `index/<id>`: index segments.
    Index,
    /// `snapshots/<id>`: snapshot manifests.
    Snapshot,
    /// `locks/<id>`: lease locks.
    Lock,
}

impl FileType {
    /// Every type, in the order `init` creates their directories.
    pub const ALL: [FileType; 6] = [
        FileType::Config,
        FileType::Key,
        FileType::Pack,
        FileType::Index,
        FileType::Snapshot,
        FileType::Lock,
    ];

    /// The directory of this type, relative to the repository root.
    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Pack => "data",
            FileType::Index => "index",
            FileType::Snapshot => "snapshots",
            FileType::Lock => "locks",
        }
    }

    /// The path of an object relative to the repository root.
    pub fn path(self, name: &str) -> String {
        match self {
            FileType::Config => name.to_string(),
            FileType::Pack => format!("data/{}/{name}", name.get(..2).unwrap_or("00")),
            _ => format!("{}/{name}", self.dir()),
        }
    }
}

/// An object store. Implementations must be safe to share between threads.
///
/// Durability contract, which every implementation must keep:
/// - [`write`](Backend::write) returns `Ok` only once the whole object is
///   durable (it survives a crash or power loss of the machine that holds it)
///   and visible under its name. A reader never sees a partial object: before
///   the write completes the name does not exist.
/// - Writing a name that already exists replaces it atomically; the
///   repository only does this with identical content (names are content
///   hashes or random).
/// - [`remove`](Backend::remove) of an absent object is not an error.
/// - [`list`](Backend::list) shows every object whose write returned `Ok`
///   before the list began, and never a partial one.
pub trait Backend: Send + Sync {
    /// Where this backend points, for messages (a path or URL).
    fn location(&self) -> String;

    /// Prepares an empty repository layout. Fails if a `config` exists.
    fn create(&self) -> Result<()>;

    /// Writes a whole object (see the durability contract).
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()>;

    /// Reads a whole object; [`Error::Missing`](crate::Error::Missing) if absent.
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>>;

    /// Reads `len` bytes at `offset`; a short object is an error.
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// Names and sizes of every object of a type.
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>>;

    /// Removes an object.
    fn remove(&self, ty: FileType, name: &str) -> Result<()>;
}

impl<B: Backend + ?Sized> Backend for std::sync::Arc<B> {
    fn location(&self) -> String {
        (**self).location()
    }
    fn create(&self) -> Result<()> {
        (**self).create()
    }
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        (**self).write(ty, name, data)
    }
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        (**self).read(ty, name)
    }
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        (**self).read_range(ty, name, offset, len)
    }
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        (**self).list(ty)
    }
    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        (**self).remove(ty, name)
    }
}

/// Opens the backend a location string names. Only local paths exist so far
/// (`/path` or `file:///path`).
pub fn open_location(location: &str) -> Result<Box<dyn Backend>> {
    if let Some(rest) = location.strip_prefix("file://") {
        return Ok(Box::new(LocalBackend::new(rest)));
    }
    if location.contains("://") {
        return Err(crate::Error::Invalid {
            what: format!("repository location {location:?}"),
            reason: "only local directories are supported by this build".into(),
        });
    }
    Ok(Box::new(LocalBackend::new(location)))
}
