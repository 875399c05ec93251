//! An in-memory backend for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::local::kind_name;
use super::{check_temp_name, Backend, FileType, TempFile};
use crate::error::{Error, Result};

/// Objects in a map; nothing survives the process. For tests.
///
/// Its writes need no temporary name, so it has temporary files only when a
/// test plants them ([`MemoryBackend::plant_temporary`]).
#[derive(Debug, Default)]
pub struct MemoryBackend {
    objects: Mutex<BTreeMap<(FileType, String), Vec<u8>>>,
    temporary: Mutex<BTreeMap<(FileType, String), (u64, SystemTime)>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    /// A copy of every object, as another store.
    pub fn duplicate(&self) -> MemoryBackend {
        MemoryBackend {
            objects: Mutex::new(self.objects.lock().unwrap().clone()),
            temporary: Mutex::new(self.temporary.lock().unwrap().clone()),
        }
    }

    /// Adds a temporary file as a killed writer would leave it: `name` as
    /// [`Backend::list_temporary`] shows it, last written at `modified`.
    pub fn plant_temporary(&self, ty: FileType, name: &str, size: u64, modified: SystemTime) {
        self.temporary
            .lock()
            .unwrap()
            .insert((ty, name.to_string()), (size, modified));
    }

    /// Changes stored bytes in place, to simulate damage in tests.
    pub fn tamper(&self, ty: FileType, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
        let mut m = self.objects.lock().unwrap();
        f(m.get_mut(&(ty, name.to_string()))
            .expect("object to tamper with exists"));
    }
}

impl Backend for MemoryBackend {
    fn location(&self) -> String {
        "memory:".into()
    }

    fn create(&self) -> Result<()> {
        if self
            .objects
            .lock()
            .unwrap()
            .contains_key(&(FileType::Config, "config".into()))
        {
            return Err(Error::AlreadyExists {
                location: self.location(),
            });
        }
        Ok(())
    }

    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.objects
            .lock()
            .unwrap()
            .insert((ty, name.to_string()), data.to_vec());
        Ok(())
    }

    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        self.objects
            .lock()
            .unwrap()
            .get(&(ty, name.to_string()))
            .cloned()
            .ok_or_else(|| Error::Missing {
                kind: kind_name(ty),
                name: name.to_string(),
            })
    }

    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let all = self.read(ty, name)?;
        let (start, end) = (offset as usize, (offset + len) as usize);
        all.get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::Backend {
                op: "read range",
                path: ty.path(name),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            })
    }

    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|((t, _), _)| *t == ty)
            .map(|((_, n), v)| (n.clone(), v.len() as u64))
            .collect())
    }

    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        self.objects.lock().unwrap().remove(&(ty, name.to_string()));
        Ok(())
    }

    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        Ok(self
            .temporary
            .lock()
            .unwrap()
            .iter()
            .filter(|((t, _), _)| *t == ty)
            .map(|((_, name), &(size, modified))| TempFile {
                name: name.clone(),
                size,
                modified: Some(modified),
            })
            .collect())
    }

    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        check_temp_name(ty, name)?;
        self.temporary
            .lock()
            .unwrap()
            .remove(&(ty, name.to_string()));
        Ok(())
    }
}
