//! A local cache of a remote repository's metadata: index segments and
//! snapshot manifests.
//!
//! Both are immutable and named by the BLAKE3 of their bytes, so a cached
//! copy is either exactly the remote object or detectably wrong: every hit
//! is checked against its name, and a mismatch is dropped and fetched
//! again. A run therefore downloads only the segments and manifests written
//! since the last run; listing stays remote (one request per type), so what
//! another host added or pruned is always seen. The cache holds sealed
//! bytes only: it reveals no more than the repository itself.
//!
//! Its directories are created 0700 and its files 0600, whatever the umask.
//!
//! The cache is best effort: when its directory cannot be written, reads
//! and writes go to the remote alone.

use std::collections::HashSet;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{Backend, FileType, TempFile, DIR_MODE, FILE_MODE, TEMP_PREFIX};
use crate::error::Result;
use crate::id::Id;

/// A backend whose index segments and manifests are kept on local disk.
pub struct MetaCache<B> {
    inner: B,
    dir: PathBuf,
}

fn cached(ty: FileType) -> bool {
    matches!(ty, FileType::Index | FileType::Snapshot)
}

impl<B: Backend> MetaCache<B> {
    /// The cache of `inner` in a directory of its own under `root`, named by
    /// a hash of `key` (the location, and for S3 the endpoint: two stores
    /// may have buckets of the same name).
    pub fn new(inner: B, root: &Path, key: &str) -> MetaCache<B> {
        let key = Id::of_bytes(key.as_bytes()).to_hex();
        let dir = root.join("remote").join(&key[..32]);
        MetaCache { inner, dir }
    }

    /// Where the cached objects are.
    #[cfg(test)]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, ty: FileType, name: &str) -> PathBuf {
        self.dir.join(ty.dir()).join(name)
    }

    fn load(&self, ty: FileType, name: &str) -> Option<Vec<u8>> {
        let path = self.path(ty, name);
        let bytes = fs::read(&path).ok()?;
        if Id::of_bytes(&bytes).to_hex() == name {
            Some(bytes)
        } else {
            let _ = fs::remove_file(&path);
            None
        }
    }

    fn store(&self, ty: FileType, name: &str, bytes: &[u8]) {
        let path = self.path(ty, name);
        let dir = path.parent().expect("cache paths have a parent");
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            Id::random().short()
        ));
        // Private like the repository: 0700 directories, 0600 files.
        let ok = DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .and_then(|()| {
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(FILE_MODE)
                    .open(&tmp)?
                    .write_all(bytes)
            })
            .and_then(|()| fs::rename(&tmp, &path));
        if ok.is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

impl<B: Backend> Backend for MetaCache<B> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn transfers(&self) -> usize {
        self.inner.transfers()
    }
    fn uploaded(&self) -> Option<u64> {
        self.inner.uploaded()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.inner.write(ty, name, data)?;
        if cached(ty) {
            self.store(ty, name, data);
        }
        Ok(())
    }
    fn write_shared(&self, ty: FileType, name: &str, data: bytes::Bytes) -> Result<()> {
        if cached(ty) {
            return self.write(ty, name, &data);
        }
        self.inner.write_shared(ty, name, data)
    }
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        if !cached(ty) {
            return self.inner.read(ty, name);
        }
        if let Some(bytes) = self.load(ty, name) {
            return Ok(bytes);
        }
        let bytes = self.inner.read(ty, name)?;
        if Id::of_bytes(&bytes).to_hex() == name {
            self.store(ty, name, &bytes);
        }
        Ok(bytes)
    }
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.inner.read_range(ty, name, offset, len)
    }
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        let listed = self.inner.list(ty)?;
        if cached(ty) {
            // Forget what is gone from the repository (pruned elsewhere).
            let names: HashSet<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
            if let Ok(entries) = fs::read_dir(self.dir.join(ty.dir())) {
                for e in entries.flatten() {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    if !names.contains(n.as_ref()) {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
        Ok(listed)
    }
    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        self.inner.remove(ty, name)?;
        if cached(ty) {
            let _ = fs::remove_file(self.path(ty, name));
        }
        Ok(())
    }

    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        self.inner.list_temporary(ty)
    }

    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        self.inner.remove_temporary(ty, name)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::backend::MemoryBackend;

    /// Counts reads that reach the "remote".
    struct Counting(MemoryBackend, AtomicUsize);

    impl Backend for Counting {
        fn location(&self) -> String {
            "counting://".into()
        }
        fn create(&self) -> Result<()> {
            self.0.create()
        }
        fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
            self.0.write(ty, name, data)
        }
        fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.read(ty, name)
        }
        fn read_range(&self, ty: FileType, name: &str, o: u64, l: u64) -> Result<Vec<u8>> {
            self.0.read_range(ty, name, o, l)
        }
        fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
            self.0.list(ty)
        }
        fn remove(&self, ty: FileType, name: &str) -> Result<()> {
            self.0.remove(ty, name)
        }
    }

    #[test]
    fn hits_are_checked_and_stale_entries_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let remote = Counting(MemoryBackend::new(), AtomicUsize::new(0));
        let (a, b) = (b"segment a".to_vec(), b"segment b".to_vec());
        let (na, nb) = (Id::of_bytes(&a).to_hex(), Id::of_bytes(&b).to_hex());
        remote.write(FileType::Index, &na, &a).unwrap();
        remote.write(FileType::Index, &nb, &b).unwrap();
        let c = MetaCache::new(&remote, tmp.path(), "counting://");
        // First read fetches, second is a hit.
        assert_eq!(c.read(FileType::Index, &na).unwrap(), a);
        assert_eq!(c.read(FileType::Index, &na).unwrap(), a);
        assert_eq!(remote.1.load(Ordering::SeqCst), 1);
        // Written through: no fetch.
        let m = b"manifest".to_vec();
        let nm = Id::of_bytes(&m).to_hex();
        c.write(FileType::Snapshot, &nm, &m).unwrap();
        assert_eq!(c.read(FileType::Snapshot, &nm).unwrap(), m);
        assert_eq!(remote.1.load(Ordering::SeqCst), 1);
        // A damaged cache entry is dropped and fetched again.
        fs::write(c.dir().join("index").join(&na), b"rot").unwrap();
        assert_eq!(c.read(FileType::Index, &na).unwrap(), a);
        assert_eq!(remote.1.load(Ordering::SeqCst), 2);
        // Removed elsewhere: the next list forgets it.
        c.read(FileType::Index, &nb).unwrap();
        remote.remove(FileType::Index, &nb).unwrap();
        c.list(FileType::Index).unwrap();
        assert!(!c.dir().join("index").join(&nb).exists());
        assert!(c.dir().join("index").join(&na).exists());
    }
}
