//! A repository in a directory on an SSH server, through SFTP.
//!
//! The connection is OpenSSH's `ssh -s sftp` ([`ssh`]); the protocol is
//! spoken by the `openssh-sftp-client` crate, which pipelines many requests
//! over the one channel, so parallel transfers share one connection.
//!
//! Durability, as the [`Backend`] contract asks: a write goes to
//! `.tmp-<pid>-<random>` beside its final name, is fsynced on the server
//! (the `fsync@openssh.com` extension, when the server has it: OpenSSH
//! does), closed, and renamed over the final name with
//! `posix-rename@openssh.com` (atomic, replaces). A reader therefore never
//! sees a partial object. SFTP cannot fsync a directory, so after a power
//! loss of the server a just-renamed object rests on the server file
//! system's ordering of renames after data (ext4's default, ZFS, btrfs).
//!
//! Directories it creates are made with mode 0700 (in the `mkdir` request;
//! the server's umask can only take bits away) and temporary files are set
//! to 0600 (`fsetstat`) before anything is written to them, so an object is
//! never readable by others, whatever the server's umask. `create` also sets
//! the repository directory to 0700 (best effort, as for a local directory).
//!
//! A connection that breaks is dropped; the next call (the retry wrapper's
//! next attempt) starts a new `ssh`.

mod ssh;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};

use bytes::BytesMut;
use openssh_sftp_client::error::SftpErrorKind;
use openssh_sftp_client::metadata::Permissions;
use openssh_sftp_client::{Error as SftpError, Sftp, SftpOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::local::kind_name;
use super::location::SftpTarget;
use super::runtime::runtime;
use super::{
    check_temp_name, Backend, FileType, SftpSettings, TempFile, DIR_MODE, FILE_MODE, TEMP_PREFIX,
};
use crate::error::{Error, Result};

/// How much of ssh's stderr is kept for messages.
const STDERR_CAP: usize = 16 * 1024;

struct Conn {
    sftp: Sftp,
    child: StdMutex<Child>,
    stderr: Arc<StdMutex<String>>,
}

/// A directory on an SSH server.
pub struct SftpBackend {
    target: SftpTarget,
    settings: SftpSettings,
    location: String,
    transfers: usize,
    conn: Mutex<Option<Arc<Conn>>>,
}

/// What went wrong in one SFTP operation.
enum Fail {
    /// The server answered with an error status.
    Status(SftpErrorKind, String),
    /// The connection (or the protocol on it) broke.
    Connection(String),
}

impl From<SftpError> for Fail {
    fn from(e: SftpError) -> Fail {
        match e {
            SftpError::SftpError(kind, msg) => Fail::Status(kind, msg.get().0.to_string()),
            other => Fail::Connection(other.to_string()),
        }
    }
}

impl SftpBackend {
    /// A backend for `target`; nothing is connected until the first call.
    pub fn new(target: SftpTarget, settings: SftpSettings, transfers: usize) -> SftpBackend {
        let location = format!(
            "sftp://{}{}{}{}{}",
            target
                .user
                .as_deref()
                .map(|u| format!("{u}@"))
                .unwrap_or_default(),
            if target.host.contains(':') { "[" } else { "" },
            target.host,
            if target.host.contains(':') { "]" } else { "" },
            target.port.map(|p| format!(":{p}")).unwrap_or_default(),
        ) + &if target.path.starts_with('/') {
            target.path.clone()
        } else {
            format!("/~/{}", target.path)
        };
        SftpBackend {
            target,
            settings,
            location,
            transfers,
            conn: Mutex::new(None),
        }
    }

    fn full(&self, ty: FileType, name: &str) -> PathBuf {
        Path::new(&self.target.path).join(ty.path(name))
    }

    async fn connect(&self) -> Result<Arc<Conn>> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let program = ssh::ssh_program(&self.settings);
        let mut child = Command::new(&program)
            .args(ssh::ssh_args(&self.target, &self.settings))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Backend {
                op: "start",
                path: format!("{program} (for {})", self.location),
                source: e,
            })?;
        let stderr = Arc::new(StdMutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped");
        let sink = stderr.clone();
        let drained = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
                if s.len() > STDERR_CAP {
                    let cut = s.len() - STDERR_CAP / 2;
                    let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                    s.drain(..cut);
                }
            }
        });
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        match Sftp::new(stdin, stdout, SftpOptions::new()).await {
            Ok(sftp) => {
                let c = Arc::new(Conn {
                    sftp,
                    child: StdMutex::new(child),
                    stderr,
                });
                *guard = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                // ssh has exited or will: let it finish writing its reasons.
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await;
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drained).await;
                let text = stderr.lock().unwrap().clone();
                Err(ssh::failure(
                    &self.location,
                    &self.target,
                    &self.settings,
                    &text,
                    &format!("the sftp session did not start: {e}"),
                ))
            }
        }
    }

    /// Drops a broken connection (unless another call already replaced it)
    /// and says what happened, from ssh's stderr when it has something.
    async fn broken(&self, conn: &Arc<Conn>, op: &'static str, path: &Path, what: String) -> Error {
        {
            let mut guard = self.conn.lock().await;
            if guard.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                *guard = None;
            }
        }
        // Give ssh a moment to exit and explain.
        for _ in 0..20 {
            if conn
                .child
                .lock()
                .unwrap()
                .try_wait()
                .ok()
                .flatten()
                .is_some()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let text = conn.stderr.lock().unwrap().clone();
        match ssh::failure(&self.location, &self.target, &self.settings, &text, &what) {
            e @ Error::HostKey { .. } => e,
            Error::Backend { source, .. } => Error::Backend {
                op,
                path: self.url(path),
                source: std::io::Error::new(
                    match source.kind() {
                        std::io::ErrorKind::Other => std::io::ErrorKind::ConnectionReset,
                        k => k,
                    },
                    format!("connection lost ({what}); {source}"),
                ),
            },
            e => e,
        }
    }

    fn url(&self, path: &Path) -> String {
        let rel = path
            .strip_prefix(&self.target.path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string());
        format!("{}/{rel}", self.location)
    }

    /// Runs one operation on the connection, turning failures into errors
    /// that name the object.
    fn run<T, F, Fut>(&self, op: &'static str, ty: FileType, name: &str, f: F) -> Result<T>
    where
        F: FnOnce(Arc<Conn>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, Fail>>,
    {
        let path = if name.is_empty() {
            Path::new(&self.target.path).join(ty.dir())
        } else if name.contains('/') {
            // A pack's temporary file, `<xx>/.tmp-…`.
            Path::new(&self.target.path).join(ty.dir()).join(name)
        } else {
            self.full(ty, name)
        };
        runtime().block_on(async {
            let conn = self.connect().await?;
            match f(conn.clone()).await {
                Ok(v) => Ok(v),
                Err(Fail::Status(SftpErrorKind::NoSuchFile, _)) if !name.is_empty() => {
                    Err(Error::Missing {
                        kind: kind_name(ty),
                        name: name.to_string(),
                    })
                }
                Err(Fail::Status(kind, msg)) => Err(Error::Backend {
                    op,
                    path: self.url(&path),
                    source: std::io::Error::new(
                        match kind {
                            SftpErrorKind::PermDenied => std::io::ErrorKind::PermissionDenied,
                            SftpErrorKind::NoSuchFile => std::io::ErrorKind::NotFound,
                            _ => std::io::ErrorKind::Other,
                        },
                        format!("the server says: {msg} ({kind:?})"),
                    ),
                }),
                Err(Fail::Connection(what)) => Err(self.broken(&conn, op, &path, what).await),
            }
        })
    }
}

fn is_status(f: &Fail, want: SftpErrorKind) -> bool {
    matches!(f, Fail::Status(k, _) if std::mem::discriminant(k) == std::mem::discriminant(&want))
}

fn permissions(mode: u32) -> Permissions {
    Permissions::from(u16::try_from(mode).expect("modes fit in 12 bits"))
}

/// `mkdir` (mode 0700), where an existing directory is success.
async fn ensure_dir(sftp: &Sftp, dir: &Path) -> std::result::Result<(), Fail> {
    let mut fs = sftp.fs();
    let made = fs
        .dir_builder()
        .permissions(permissions(DIR_MODE))
        .create(dir)
        .await;
    match made.map_err(Fail::from) {
        Ok(()) => Ok(()),
        Err(e) => match fs.metadata(dir).await {
            Ok(m) if m.file_type().is_some_and(|t| t.is_dir()) => Ok(()),
            _ => Err(e),
        },
    }
}

async fn write_object(
    c: &Conn,
    dir: &Path,
    path: &Path,
    data: &[u8],
) -> std::result::Result<(), Fail> {
    let tmp = dir.join(format!(
        "{TEMP_PREFIX}{}-{}",
        std::process::id(),
        crate::id::Id::random().short()
    ));
    let mut opts = c.sftp.options();
    opts.write(true).create_new(true);
    let mut file = match opts.open(&tmp).await.map_err(Fail::from) {
        Ok(f) => f,
        Err(e) if is_status(&e, SftpErrorKind::NoSuchFile) => {
            ensure_dir(&c.sftp, dir).await?;
            opts.open(&tmp).await?
        }
        Err(e) => return Err(e),
    };
    let result = async {
        // The crate sends no attributes with the open: set the mode before
        // any byte is written.
        file.set_permissions(permissions(FILE_MODE)).await?;
        write_pipelined(&file, data).await?;
        if c.sftp.support_fsync() {
            file.sync_all().await?;
        }
        file.close().await?;
        c.sftp.fs().rename(&tmp, path).await?;
        Ok::<(), SftpError>(())
    }
    .await
    .map_err(Fail::from);
    if result.is_err() {
        let _ = c.sftp.fs().remove_file(&tmp).await;
    }
    result
}

/// Writes `data` at the start of `file` with several write requests in
/// flight (up to the crate's `tokio_compat_file_write_limit`, 640 KiB),
/// not one request and its answer at a time: over a slow link each answer
/// is a round trip. Returns once every request has been answered.
/// Vectored writes: the crate's plain write serialises the payload byte by
/// byte (a third of a ship's CPU over SFTP, BENCHMARKS.md).
async fn write_pipelined(
    file: &openssh_sftp_client::file::File,
    data: &[u8],
) -> std::result::Result<(), SftpError> {
    use openssh_sftp_client::file::TokioCompatFile;
    use tokio::io::AsyncWriteExt;
    let mut w = Box::pin(TokioCompatFile::new(file.clone()));
    let mut rest = data;
    let io = |e: std::io::Error| SftpError::from(e);
    while !rest.is_empty() {
        let n = w
            .write_vectored(&[std::io::IoSlice::new(rest)])
            .await
            .map_err(io)?;
        if n == 0 {
            return Err(io(std::io::ErrorKind::WriteZero.into()));
        }
        rest = &rest[n..];
    }
    w.flush().await.map_err(io)?;
    Ok(())
}

/// One directory entry: name, size, whether a directory, last written.
type DirEntry = (String, u64, bool, Option<std::time::SystemTime>);

/// The entries of a directory: objects and subdirectories (names not
/// starting with `.`), or with `temporary` only temporary files.
async fn list_dir(
    c: &Conn,
    dir: &Path,
    temporary: bool,
) -> std::result::Result<Vec<DirEntry>, Fail> {
    use futures_core::Stream;
    let mut fs = c.sftp.fs();
    let rd = fs.open_dir(dir).await?.read_dir();
    tokio::pin!(rd);
    let mut out = Vec::new();
    while let Some(entry) = std::future::poll_fn(|cx| rd.as_mut().poll_next(cx)).await {
        let entry = entry?;
        let name = entry.filename().to_string_lossy().into_owned();
        if temporary != name.starts_with(TEMP_PREFIX) || (!temporary && name.starts_with('.')) {
            continue;
        }
        let m = entry.metadata();
        let is_dir = m.file_type().is_some_and(|t| t.is_dir());
        let modified = m
            .modified()
            .map(openssh_sftp_client::UnixTimeStamp::as_system_time);
        out.push((name, m.len().unwrap_or(0), is_dir, modified));
    }
    Ok(out)
}

/// The files of a type (objects, or with `temporary` temporary files),
/// named relative to the type's directory: packs as `<xx>/<name>` when
/// `prefixed`.
async fn list_files(
    c: Arc<Conn>,
    dir: PathBuf,
    ty: FileType,
    temporary: bool,
    prefixed: bool,
) -> std::result::Result<Vec<DirEntry>, Fail> {
    if ty != FileType::Pack {
        let top = list_dir(&c, &dir, temporary).await?;
        return Ok(top.into_iter().filter(|e| !e.2).collect());
    }
    // data/<xx>/: list the subdirectories at once (the requests are
    // pipelined on the one channel).
    let top = list_dir(&c, &dir, false).await?;
    let mut set = tokio::task::JoinSet::new();
    for (sub, _, is_dir, _) in top {
        if is_dir {
            let (c, d) = (c.clone(), dir.join(&sub));
            set.spawn(async move { (sub, list_dir(&c, &d, temporary).await) });
        }
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        let (sub, entries) = r.map_err(|e| Fail::Connection(e.to_string()))?;
        out.extend(entries?.into_iter().filter(|e| !e.2).map(|mut e| {
            if prefixed {
                e.0 = format!("{sub}/{}", e.0);
            }
            e
        }));
    }
    Ok(out)
}

impl Backend for SftpBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn transfers(&self) -> usize {
        self.transfers
    }

    fn create(&self) -> Result<()> {
        let root = PathBuf::from(&self.target.path);
        let config = self.full(FileType::Config, "config");
        let exists = self.run("create", FileType::Config, "", |c| async move {
            // mkdir -p of the repository directory.
            let mut at = PathBuf::new();
            for part in root.components() {
                at.push(part);
                if at.as_os_str() != "/" {
                    ensure_dir(&c.sftp, &at).await?;
                }
            }
            match c.sftp.fs().metadata(&config).await.map_err(Fail::from) {
                Ok(_) => return Ok(true),
                Err(e) if is_status(&e, SftpErrorKind::NoSuchFile) => {}
                Err(e) => return Err(e),
            }
            // Best effort, like a local directory: an existing root we may
            // write to but not chmod keeps its mode.
            let _ = c
                .sftp
                .fs()
                .set_permissions(&root, permissions(DIR_MODE))
                .await;
            for ty in FileType::ALL {
                if !ty.dir().is_empty() {
                    ensure_dir(&c.sftp, &root.join(ty.dir())).await?;
                }
            }
            Ok(false)
        })?;
        if exists {
            return Err(Error::AlreadyExists {
                location: self.location(),
            });
        }
        Ok(())
    }

    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        let path = self.full(ty, name);
        let dir = path
            .parent()
            .expect("object paths have a parent")
            .to_path_buf();
        self.run("write", ty, "", |c| async move {
            write_object(&c, &dir, &path, data).await
        })
    }

    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        let path = self.full(ty, name);
        self.run("read", ty, name, |c| async move {
            Ok(c.sftp.fs().read(&path).await?.to_vec())
        })
    }

    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.full(ty, name);
        let url = self.url(&path);
        let got = self.run("read", ty, name, |c| async move {
            let mut f = c.sftp.open(&path).await?;
            let size = f.metadata().await?.len().unwrap_or(u64::MAX);
            if offset.saturating_add(len) > size {
                return Ok(Err(size));
            }
            f.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(|e| Fail::Connection(e.to_string()))?;
            let want = usize::try_from(len).expect("range fits in memory");
            let buf = f.read_all(want, BytesMut::with_capacity(want)).await?;
            let _ = f.close().await;
            Ok(Ok(buf.to_vec()))
        })?;
        got.map_err(|size| Error::Backend {
            op: "read",
            path: url,
            source: std::io::Error::other(format!(
                "asked for {len} bytes at offset {offset} of a {size}-byte object"
            )),
        })
    }

    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        let dir = Path::new(&self.target.path).join(ty.dir());
        self.run("list", ty, "", |c| async move {
            let files = list_files(c, dir, ty, false, false).await?;
            Ok(files.into_iter().map(|e| (e.0, e.1)).collect())
        })
    }

    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        let dir = Path::new(&self.target.path).join(ty.dir());
        let mut out: Vec<TempFile> = self.run("list", ty, "", |c| async move {
            let files = list_files(c, dir, ty, true, true).await?;
            Ok(files
                .into_iter()
                .map(|(name, size, _, modified)| TempFile {
                    name,
                    size,
                    modified,
                })
                .collect())
        })?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        check_temp_name(ty, name)?;
        let path = Path::new(&self.target.path).join(ty.dir()).join(name);
        match self.run("remove", ty, name, |c| async move {
            Ok(c.sftp.fs().remove_file(&path).await?)
        }) {
            Err(Error::Missing { .. }) => Ok(()),
            other => other,
        }
    }

    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        let path = self.full(ty, name);
        match self.run("remove", ty, name, |c| async move {
            Ok(c.sftp.fs().remove_file(&path).await?)
        }) {
            Err(Error::Missing { .. }) => Ok(()),
            other => other,
        }
    }
}

impl Drop for SftpBackend {
    fn drop(&mut self) {
        if let Some(c) = self.conn.get_mut().take() {
            if let Ok(c) = Arc::try_unwrap(c) {
                let Conn { sftp, child, .. } = c;
                runtime().block_on(async move {
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_secs(5), sftp.close()).await;
                    let mut child = child.into_inner().unwrap();
                    if tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
                        .await
                        .is_err()
                    {
                        let _ = child.kill().await;
                    }
                });
            }
        }
    }
}
