//! Where repository objects live.
//!
//! A backend stores whole, immutable objects under (type, name). The
//! repository never rewrites an object in place: a new version of anything is
//! a new object with a new name, and old ones are removed only after their
//! replacements are durable.

mod cache;
mod local;
mod location;
mod memory;
mod options;
mod retry;
mod runtime;
mod s3;
mod sftp;
mod throttle;

pub use cache::MetaCache;
pub use local::LocalBackend;
#[cfg(any(test, feature = "test-support"))]
pub use local::{LocalFs, PowerCutFs};
pub use location::{Location, SftpTarget};
pub use memory::MemoryBackend;
pub use options::{BackendOptions, RetryPolicy, S3Settings, SftpSettings};
pub use retry::{RetryEvent, RetryNotify, Retrying};
pub use s3::S3Backend;
pub use sftp::SftpBackend;
pub use throttle::Throttled;

use std::time::SystemTime;

use crate::error::{Error, Result};

/// How the name of every temporary file a backend writes begins:
/// `.tmp-<pid>-<8 random hex>`, beside the object's final name.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Mode of every directory a backend creates in a repository, whatever the
/// umask (the umask can only take bits away).
pub(crate) const DIR_MODE: u32 = 0o700;

/// Mode of every file a backend creates in a repository.
pub(crate) const FILE_MODE: u32 = 0o600;

/// A temporary file in a repository: an object being written, or one whose
/// writer was killed before its rename (it is then never completed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TempFile {
    /// Its name relative to its type's directory: `.tmp-<pid>-<hex>`, and
    /// for packs `<xx>/.tmp-<pid>-<hex>`.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, if the backend can tell.
    pub modified: Option<SystemTime>,
}

impl TempFile {
    /// The pid its name carries (the writer's, on whichever host wrote it).
    pub fn pid(&self) -> Option<u32> {
        let base = self.name.rsplit('/').next()?;
        base.strip_prefix(TEMP_PREFIX)?
            .split('-')
            .next()?
            .parse()
            .ok()
    }
}

/// Refuses a name that is not a temporary file's, so that
/// [`Backend::remove_temporary`] can never remove an object.
pub(crate) fn check_temp_name(ty: FileType, name: &str) -> Result<()> {
    let (sub, base) = match name.split_once('/') {
        Some((sub, base)) if ty == FileType::Pack => (Some(sub), base),
        Some(_) => (None, ""),
        None => (None, name),
    };
    let sub_ok = sub.is_none_or(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    if sub_ok
        && base.len() > TEMP_PREFIX.len()
        && base.starts_with(TEMP_PREFIX)
        && !base.contains('/')
    {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: format!("temporary file name {name:?} in {}/", ty.dir()),
            reason: format!("not a temporary file (`{TEMP_PREFIX}<pid>-<hex>`)"),
        })
    }
}

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
/// - A write that needs a temporary name uses `.tmp-<pid>-<random>`
///   ([`TEMP_PREFIX`]) in the object's directory; [`list`](Backend::list)
///   never shows such names, [`list_temporary`](Backend::list_temporary)
///   shows only them. A writer killed mid-write leaves its temporary file;
///   nothing refers to it, and removing it harms no object.
/// - Directories and files a backend creates get modes 0700 and 0600
///   where the storage has modes, whatever the umask.
pub trait Backend: Send + Sync {
    /// Where this backend points, for messages (a path or URL).
    fn location(&self) -> String;

    /// Prepares an empty repository layout. Fails if a `config` exists.
    fn create(&self) -> Result<()>;

    /// Writes a whole object (see the durability contract).
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()>;

    /// [`write`](Self::write) of a shared buffer (a pack): a backend that
    /// must own what it sends (S3's client) takes it without a copy, and a
    /// wrapper that may send it again (retries) keeps it for the price of
    /// a reference count.
    fn write_shared(&self, ty: FileType, name: &str, data: bytes::Bytes) -> Result<()> {
        self.write(ty, name, &data)
    }

    /// Reads a whole object; [`Error::Missing`](crate::error::Error::Missing) if absent.
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>>;

    /// Reads `len` bytes at `offset`; a short object is an error.
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// Names and sizes of every object of a type.
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>>;

    /// Removes an object.
    fn remove(&self, ty: FileType, name: &str) -> Result<()>;

    /// How many objects to transfer at once (packs uploaded by a ship, runs
    /// read ahead by a restore). 1 unless the backend gains from more.
    fn transfers(&self) -> usize {
        1
    }

    /// Bytes an upload limit has let out so far, counted as each write is
    /// paced (in pieces of a quarter MiB), or `None` without a limit (a
    /// caller then counts a write once it returns). What progress shows as
    /// sent, so a limit shows as that rate while a pack goes out: every
    /// write's bytes, index segments and retried attempts included.
    fn uploaded(&self) -> Option<u64> {
        None
    }

    /// The temporary files of a type: writes in progress (here or on another
    /// host) and writes whose writer died. Never an object. A backend whose
    /// writes need no temporary name (S3: a PUT is atomic) has none, the
    /// default.
    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        let _ = ty;
        Ok(Vec::new())
    }

    /// Removes a temporary file [`list_temporary`](Backend::list_temporary)
    /// named. Absent is not an error; a name that is not a temporary file's
    /// is refused ([`Error::Invalid`]), so this never removes an object.
    /// Removing the file of a write still in progress makes that write fail;
    /// callers remove only files whose writer is gone (see `prune`).
    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        check_temp_name(ty, name)
    }
}

/// A reference, `Arc` or `Box` of a backend is that backend.
macro_rules! delegate_backend {
    ($($ptr:ty),*) => {$(
        impl<B: Backend + ?Sized> Backend for $ptr {
            fn location(&self) -> String {
                (**self).location()
            }
            fn create(&self) -> Result<()> {
                (**self).create()
            }
            fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
                (**self).write(ty, name, data)
            }
            fn write_shared(&self, ty: FileType, name: &str, data: bytes::Bytes) -> Result<()> {
                (**self).write_shared(ty, name, data)
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
            fn transfers(&self) -> usize {
                (**self).transfers()
            }
            fn uploaded(&self) -> Option<u64> {
                (**self).uploaded()
            }
            fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
                (**self).list_temporary(ty)
            }
            fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
                (**self).remove_temporary(ty, name)
            }
        }
    )*};
}

delegate_backend!(&B, std::sync::Arc<B>, Box<B>);

/// Opens the backend a location names, with default options (no limits,
/// no cache, default retries).
pub fn open_location(location: &str) -> Result<Box<dyn Backend>> {
    open(location, &BackendOptions::default(), None)
}

/// Opens the backend a location names: a directory, `sftp://` or `s3://`.
///
/// Remote backends are wrapped, innermost first, in the metadata cache
/// (when `options.cache_dir` is set), bandwidth limits and retries; a local
/// directory only in bandwidth limits, when given.
pub fn open(
    location: &str,
    options: &BackendOptions,
    notify: Option<RetryNotify>,
) -> Result<Box<dyn Backend>> {
    let mut cache_key = location.to_string();
    let remote: Box<dyn Backend> = match Location::parse(location)? {
        Location::Local(path) => {
            let local = LocalBackend::new(path).with_transfers(options.transfers.unwrap_or(1));
            if options.limit_upload.is_none() && options.limit_download.is_none() {
                return Ok(Box::new(local));
            }
            return Ok(Box::new(Throttled::new(
                local,
                options.limit_upload,
                options.limit_download,
            )));
        }
        Location::Sftp(target) => Box::new(SftpBackend::new(
            target,
            options.sftp.clone(),
            options.transfers.unwrap_or(4),
        )),
        Location::S3 { bucket, prefix } => {
            let backend = S3Backend::open(
                &bucket,
                &prefix,
                &options.s3,
                options.transfers.unwrap_or(8),
            )?;
            cache_key = format!("{} at {}", backend.location(), backend.endpoint());
            Box::new(backend)
        }
    };
    let cached: Box<dyn Backend> = match &options.cache_dir {
        Some(dir) => Box::new(MetaCache::new(remote, dir, &cache_key)),
        None => remote,
    };
    let limited = Throttled::new(cached, options.limit_upload, options.limit_download);
    Ok(Box::new(Retrying::new(
        limited,
        options.retry.clone(),
        notify,
    )))
}
