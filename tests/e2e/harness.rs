//! What every end-to-end test needs: a throwaway pool, a repository, and the
//! real `backup` binary run with a passphrase from a file.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use backup_zfs::testpool::TestPool;
use backup_zfs::{DatasetName, SnapshotName};

pub const BIN: &str = env!("CARGO_BIN_EXE_backup");

/// A pool, a repository directory, a catalog directory and a passphrase file.
pub struct Env {
    pub pool: TestPool,
    pub tmp: tempfile::TempDir,
    pub repo: PathBuf,
    pub extra_path: Option<PathBuf>,
}

impl Env {
    /// A fresh pool and an initialised repository (cheap key derivation).
    pub fn new() -> Env {
        let env = Env::without_repo();
        let out = env.backup(["init", "--kdf-memory", "1024", "--kdf-iterations", "1"]);
        assert_ok(&out, "init");
        env
    }

    /// A fresh pool and an empty place for a repository.
    pub fn without_repo() -> Env {
        Env::without_repo_in(
            TestPool::create().expect("a test pool (is zfs-fuse installed? run scripts/test.sh)"),
        )
    }

    /// The same in a pool of `bytes` (a sparse file).
    pub fn without_repo_sized(bytes: u64) -> Env {
        Env::without_repo_in(
            TestPool::with_size(bytes)
                .expect("a test pool (is zfs-fuse installed? run scripts/test.sh)"),
        )
    }

    fn without_repo_in(pool: TestPool) -> Env {
        // Named, so that scripts/test.sh can remove what a killed run left.
        let tmp = tempfile::Builder::new()
            .prefix(&format!("backup-e2e-{}-", std::process::id()))
            .tempdir()
            .unwrap();
        fs::write(tmp.path().join("pass"), "correct horse battery staple\n").unwrap();
        let repo = tmp.path().join("repo");
        Env {
            pool,
            tmp,
            repo,
            extra_path: None,
        }
    }

    /// Runs `backup` with this environment's repository, passphrase and catalog.
    pub fn backup<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args).output().expect("run backup")
    }

    /// The command, to adjust before running.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_clear()
            .env("PATH", self.path_var())
            .env("BACKUP_REPOSITORY", &self.repo)
            .env("BACKUP_PASSWORD_FILE", self.tmp.path().join("pass"))
            .env("BACKUP_CACHE_DIR", self.tmp.path().join("cache"))
            .env("BACKUP_STATE_DIR", self.tmp.path().join("state"))
            .env("TMPDIR", std::env::temp_dir())
            .stdin(Stdio::null());
        // On zfs-fuse the binary's zfs commands time out well before the
        // test does, so that a wedge is reported as one (assert_ok).
        if let Ok(backup_zfs::Dialect::ZfsFuse) = self.pool.zfs().dialect() {
            let limit = backup_zfs::testpool::TEST_TIMEOUT.as_secs().to_string();
            c.env(backup_zfs::TIMEOUT_ENV, limit);
        }
        c
    }

    fn path_var(&self) -> String {
        let base = std::env::var("PATH").unwrap_or_default();
        let base = format!("{base}:/usr/sbin:/sbin");
        match &self.extra_path {
            Some(p) => format!("{}:{base}", p.display()),
            None => base,
        }
    }

    /// A dataset `name` under the pool's root, created.
    pub fn dataset(&self, name: &str) -> DatasetName {
        let ds = self.pool.root().child(name).unwrap();
        self.pool.zfs().create_dataset(&ds, &[]).unwrap();
        ds
    }

    /// Where `ds` is mounted.
    pub fn mountpoint(&self, ds: &DatasetName) -> PathBuf {
        self.pool
            .zfs()
            .mountpoint(ds)
            .unwrap()
            .expect("dataset is mounted")
    }

    /// Takes a snapshot.
    pub fn snapshot(&self, ds: &DatasetName, name: &str) -> SnapshotName {
        let s = SnapshotName::new(ds.clone(), name).unwrap();
        self.pool
            .zfs()
            .create_snapshots(std::slice::from_ref(&s), false)
            .unwrap();
        s
    }

    /// Writes `backup.toml` with repository `nas` (this environment's) and
    /// one job `job` shipping `ds` with prefix `job`; `extra` adds lines to
    /// the job's table. Returns its path.
    pub fn job_config(&self, job: &str, ds: &DatasetName, extra: &str) -> PathBuf {
        let config = self.tmp.path().join("backup.toml");
        let text = format!(
            "state_dir = {:?}\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
             [jobs.{job}]\nrepository = \"nas\"\ndatasets = [\"{ds}\"]\nprefix = \"job\"\n{extra}",
            self.tmp.path().join("state"),
            self.repo,
            self.tmp.path().join("pass"),
        );
        fs::write(&config, text).unwrap();
        config
    }

    /// Clones a snapshot so its contents can be compared (zfs-fuse has no .zfs/snapshot).
    pub fn clone_of(&self, snap: &SnapshotName, name: &str) -> PathBuf {
        let target = self.pool.root().child(name).unwrap();
        self.pool
            .zfs()
            .clone_snapshot(snap, &target, &[])
            .unwrap()
            .expect("the clone is mounted")
    }

    /// `backup list --json`.
    pub fn list(&self) -> Vec<serde_json::Value> {
        let out = self.backup(["list", "--json"]);
        assert_ok(&out, "list --json");
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The pack files of `env`'s repository, smallest first.
pub fn pack_files(env: &Env) -> Vec<PathBuf> {
    let mut packs = files_under(&env.repo.join("data"));
    packs.sort_by_key(|p| fs::metadata(p).unwrap().len());
    packs
}

/// Flips one byte in the middle of the biggest pack of `env`'s repository
/// (its data, for a ship of one big file); returns the pack.
pub fn damage_the_biggest_pack(env: &Env) -> PathBuf {
    let pack = pack_files(env).pop().expect("a pack");
    let mut bytes = fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&pack, bytes).unwrap();
    pack
}

/// Runs a command and asserts it succeeded.
pub fn run_ok<I, S>(prog: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(prog).args(args).output().unwrap();
    assert_ok(&out, prog);
    out
}

/// Asserts the command succeeded. A failure because a zfs command of the
/// binary timed out is reported as a wedged zfs-fuse, after the daemon was
/// recovered (`backup_zfs::testpool::recover`), not as a failure of `what`.
pub fn assert_ok(out: &Output, what: &str) {
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let timed_out =
            err.contains("did not finish within") || err.contains("did not answer within");
        if timed_out {
            let recovery = backup_zfs::testpool::recover()
                .unwrap_or_else(|| "the daemon answers again; nothing to recover".to_owned());
            panic!("zfs-fuse wedged during {what}: {err}\nrecovered: {recovery}");
        }
    }
    assert!(
        out.status.success(),
        "{what} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts two trees are the same: every path, type, size, mode, owner,
/// mtime, symlink target and file content.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let ea = entries(a);
    let eb = entries(b);
    let names_a: Vec<_> = ea.iter().map(|(p, _)| p.clone()).collect();
    let names_b: Vec<_> = eb.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        names_a,
        names_b,
        "{} and {} list different paths",
        a.display(),
        b.display()
    );
    for ((rel, ma), (_, mb)) in ea.iter().zip(&eb) {
        let what = rel.display();
        assert_eq!(ma.mode(), mb.mode(), "{what}: mode");
        assert_eq!((ma.uid(), ma.gid()), (mb.uid(), mb.gid()), "{what}: owner");
        assert_eq!(ma.size(), mb.size(), "{what}: size");
        if !ma.is_dir() {
            assert_eq!(
                (ma.mtime(), ma.mtime_nsec()),
                (mb.mtime(), mb.mtime_nsec()),
                "{what}: mtime"
            );
        }
        if ma.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(a.join(rel)).unwrap(),
                fs::read_link(b.join(rel)).unwrap(),
                "{what}: target"
            );
        } else if ma.is_file() {
            assert!(
                same_content(&a.join(rel), &b.join(rel)),
                "{what}: content differs"
            );
        }
    }
}

fn entries(root: &Path) -> Vec<(PathBuf, fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(r.clone());
            }
            out.push((r, m));
        }
    }
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// The data regions of `f` (`len` bytes), by `SEEK_DATA`/`SEEK_HOLE`;
/// `None` where the file system cannot say.
#[allow(unsafe_code)]
fn data_regions(f: &fs::File, len: u64) -> Option<Vec<(u64, u64)>> {
    use std::os::fd::AsRawFd;
    let (fd, len) = (f.as_raw_fd(), i64::try_from(len).ok()?);
    let mut out = Vec::new();
    let mut off = 0;
    while off < len {
        // SAFETY: lseek on a descriptor `f` keeps open; no memory involved.
        let data = unsafe { libc::lseek(fd, off, libc::SEEK_DATA) };
        if data < 0 {
            let no_more = std::io::Error::last_os_error().raw_os_error() == Some(libc::ENXIO);
            return no_more.then_some(out);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole <= data {
            return None;
        }
        out.push((data as u64, hole.min(len) as u64));
        off = hole;
    }
    Some(out)
}

/// Same bytes. Where both files have the same holes (a sparse image and
/// its restore), only their data is read: reading gigabytes of holes is
/// minutes in the OpenZFS guests.
fn same_content(a: &Path, b: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let (mut fa, mut fb) = (fs::File::open(a).unwrap(), fs::File::open(b).unwrap());
    let len = fa.metadata().unwrap().len();
    let regions = data_regions(&fa, len).filter(|r| Some(r) == data_regions(&fb, len).as_ref());
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    if let Some(regions) = regions {
        return regions.iter().all(|&(start, end)| {
            fa.seek(SeekFrom::Start(start)).unwrap();
            fb.seek(SeekFrom::Start(start)).unwrap();
            let mut left = end - start;
            while left > 0 {
                let n = usize::try_from(left.min(1 << 20)).unwrap();
                if read_full(&mut fa, &mut ba[..n]) != n
                    || read_full(&mut fb, &mut bb[..n]) != n
                    || ba[..n] != bb[..n]
                {
                    return false;
                }
                left -= n as u64;
            }
            true
        });
    }
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if na != nb || ba[..na] != bb[..nb] {
            return false;
        }
        if na == 0 {
            return true;
        }
    }
}

fn read_full(f: &mut fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

pub use backup_zfs::testpool::noise;

/// Every file below `d`, recursively.
pub fn files_under(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}
