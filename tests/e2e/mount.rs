//! `backup mount`: shipped snapshots as a read-only FUSE file system, each
//! file rebuilt by the fast path and checked against its manifest BLAKE3;
//! compared with copies of the trees they were taken of; SIGTERM and an outside
//! `umount` end it with 0 and leave no mount and no cache; a snapshot
//! without a file manifest holds a note.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{assert_ok, noise, pack_files, run_ok, Env};

/// A running `backup mount`: unmounted (by its path) and its process
/// killed (by its pid) when dropped, so a failing test leaves nothing.
struct Mounted {
    child: Child,
    at: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Mounted {
    /// Starts `backup mount ARGS... AT` and waits for its "mounted" line.
    fn start(env: &Env, args: &[&OsStr], at: &Path) -> Mounted {
        fs::create_dir_all(at).unwrap();
        let mut all: Vec<&OsStr> = vec![OsStr::new("mount")];
        all.extend(args);
        all.push(at.as_os_str());
        let mut child = env
            .command(all)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run backup mount");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let (pipe, log) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("mounted ") {
                    let _ = tx.send(());
                }
                let mut l = log.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let m = Mounted {
            child,
            at: at.to_path_buf(),
            stderr,
        };
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!("backup mount did not say it mounted:\n{}", m.stderr());
        }
        assert!(
            is_mounted(at),
            "{} is not in /proc/self/mounts",
            at.display()
        );
        m
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (10 s at most) for `needle` on its stderr, which a thread reads.
    fn wait_for_stderr(&self, needle: &str) {
        let until = Instant::now() + Duration::from_secs(10);
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < until,
                "no {needle:?} in:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (10 s at most) for the process to end.
    fn wait(&mut self) -> ExitStatus {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < until,
                "backup mount did not end:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if is_mounted(&self.at) {
            let _ = Command::new("fusermount")
                .arg("-u")
                .arg("-z")
                .arg(&self.at)
                .status();
        }
        if is_mounted(&self.at) {
            let _ = Command::new("umount").arg("-l").arg(&self.at).status();
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn is_mounted(at: &Path) -> bool {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    let at = at.to_str().unwrap();
    mounts.lines().any(|l| l.split(' ').nth(1) == Some(at))
}

/// Asserts that `got` (in the mount) is the tree `want`: names, types,
/// modes, owners, sizes and mtimes (but directories'), symlink targets and
/// every file's bytes.
fn assert_same(got: &Path, want: &Path) {
    let names = |d: &Path| {
        let mut v: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let (g, w) = (names(got), names(want));
    assert_eq!(
        g,
        w,
        "{} lists other names than {}",
        got.display(),
        want.display()
    );
    for name in g {
        let (a, b) = (got.join(&name), want.join(&name));
        let (ma, mb) = (
            fs::symlink_metadata(&a).unwrap(),
            fs::symlink_metadata(&b).unwrap(),
        );
        let what = a.display();
        assert_eq!(ma.mode(), mb.mode(), "{what}: type and mode");
        assert_eq!((ma.uid(), ma.gid()), (mb.uid(), mb.gid()), "{what}: owner");
        if ma.is_dir() {
            assert_same(&a, &b);
            continue;
        }
        assert_eq!(ma.size(), mb.size(), "{what}: size");
        assert_eq!(
            (ma.mtime(), ma.mtime_nsec()),
            (mb.mtime(), mb.mtime_nsec()),
            "{what}: mtime"
        );
        if ma.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(&a).unwrap(),
                fs::read_link(&b).unwrap(),
                "{what}"
            );
        } else {
            assert!(
                fs::read(&a).unwrap() == fs::read(&b).unwrap(),
                "{what}: bytes differ"
            );
        }
    }
}

fn term(m: &Mounted) {
    let pid = libc::pid_t::try_from(m.child.id()).unwrap();
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on the pid of the child this test started.
    let done = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(done, 0, "kill -TERM {pid}");
}

#[test]
fn two_snapshots_are_served_as_their_trees_read_only_and_sigterm_unmounts() {
    let env = Env::new();
    let ds = env.dataset("www");
    let root = env.mountpoint(&ds);
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::write(root.join("sub/deeper/conf"), "listen 80;\n").unwrap();
    fs::write(root.join("changed"), "before\n").unwrap();
    fs::write(root.join("big"), noise(1 << 20, 5)).unwrap();
    fs::hard_link(root.join("big"), root.join("sub/big-link")).unwrap();
    fs::write(root.join("empty"), "").unwrap();
    fs::write(
        root.join(OsStr::from_bytes(b"caf\xe9 au lait")),
        "latin-1\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("sub/deeper/conf", root.join("link")).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send s1");
    // What s1 held, with modes, owners and times (cheaper than a clone).
    let old = env.tmp.path().join("s1");
    run_ok("cp", [OsStr::new("-a"), root.as_os_str(), old.as_os_str()]);
    fs::write(root.join("changed"), "after, and longer\n").unwrap();
    fs::write(root.join("sub/new"), noise(300 << 10, 6)).unwrap();
    let s2 = env.snapshot(&ds, "s2");
    assert_ok(&env.backup(["send", &s2.to_string()]), "send s2");

    let mnt = env.tmp.path().join("mnt");
    let mut m = Mounted::start(&env, &[], &mnt);
    let dsdir = mnt.join(ds.as_str());
    let mut names: Vec<_> = fs::read_dir(&dsdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["latest", "s1", "s2"]);
    assert_eq!(
        fs::read_link(dsdir.join("latest")).unwrap(),
        Path::new("s2")
    );
    // The older snapshot first: its file, then its whole tree.
    assert_eq!(fs::read(dsdir.join("s1/changed")).unwrap(), b"before\n");
    assert_same(&dsdir.join("s1"), &old);
    assert_same(&dsdir.join("latest"), &root);
    assert_eq!(
        fs::read(dsdir.join("s2/changed")).unwrap(),
        b"after, and longer\n"
    );

    // Inode numbers are stable and distinct across snapshots.
    let ino = |p: &str| fs::metadata(dsdir.join(p)).unwrap().ino();
    assert_eq!(ino("s2/sub/deeper/conf"), ino("s2/sub/deeper/conf"));
    assert_ne!(ino("s1/sub/deeper/conf"), ino("s2/sub/deeper/conf"));
    assert_eq!(fs::metadata(dsdir.join("s2/sub")).unwrap().nlink(), 3);

    // Read-only.
    let err = fs::write(dsdir.join("s2/new-file"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    let err = fs::write(dsdir.join("s2/changed"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");

    let cache = env.tmp.path().join(format!("cache/mount-{}", m.child.id()));
    assert!(cache.is_dir(), "the cache is at {}", cache.display());
    term(&m);
    let status = m.wait();
    assert_eq!(status.code(), Some(0), "{}", m.stderr());
    assert!(!is_mounted(&mnt), "still mounted after SIGTERM");
    assert!(!cache.exists(), "the cache is left");
}

#[test]
fn a_damaged_chunk_is_eio_never_wrong_bytes_and_umount_from_outside_ends_it() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(4 << 20, 7)).unwrap();
    let snap = env.snapshot(&ds, "s");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send");
    let pack = pack_files(&env).pop().unwrap();
    let bare = env.snapshot(&ds, "bare");
    let out = env.backup(["send", "--no-file-manifest", &bare.to_string()]);
    assert_ok(&out, "send --no-file-manifest");
    let mut bytes = fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&pack, bytes).unwrap();

    let mnt = env.tmp.path().join("mnt");
    let mut m = Mounted::start(&env, &[OsStr::new(ds.as_str())], &mnt);
    let err = fs::read(mnt.join("s/f")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    m.wait_for_stderr(&format!("reading f of {snap}"));

    // A snapshot shipped without a file manifest holds a note saying so.
    let names: Vec<_> = fs::read_dir(mnt.join("bare"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["NO-FILE-MANIFEST.txt"]);
    let note = fs::read_to_string(mnt.join("bare/NO-FILE-MANIFEST.txt")).unwrap();
    assert!(note.contains(&format!("{bare} (")), "{note}");
    assert!(note.contains("has no file manifest"), "{note}");
    assert_eq!(
        fs::read_link(mnt.join("latest")).unwrap(),
        Path::new("bare")
    );

    run_ok("umount", [&mnt]);
    let status = m.wait();
    assert_eq!(status.code(), Some(0), "{}", m.stderr());
    assert!(!is_mounted(&mnt));
}

#[test]
fn a_big_file_is_fetched_as_it_is_read_not_whole_on_open() {
    let env = Env::new();
    let ds = env.dataset("big");
    let data = noise(40 << 20, 9);
    fs::write(env.mountpoint(&ds).join("f"), &data).unwrap();
    let snap = env.snapshot(&ds, "s");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send");

    let mnt = env.tmp.path().join("mnt");
    let mut m = Mounted::start(&env, &[OsStr::new(&snap.to_string())], &mnt);
    let cache = env.tmp.path().join(format!("cache/mount-{}", m.child.id()));
    // 4 KiB from the middle: what comes back is those bytes, and the cache
    // holds about one window (4 MiB) of the 40, not the file.
    let f = fs::File::open(mnt.join("f")).unwrap();
    let mut got = vec![0u8; 4096];
    let at = 30 << 20;
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut got, at).unwrap();
    assert_eq!(got, data[at as usize..at as usize + 4096]);
    let cached = |cache: &Path| -> u64 {
        fs::read_dir(cache)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().blocks() * 512)
            .sum()
    };
    let held = cached(&cache);
    assert!(
        held > 0 && held <= 12 << 20,
        "{held} bytes cached after a 4 KiB read"
    );
    // The whole file, read through: its bytes, and its digest checked
    // (nothing logged).
    assert_eq!(fs::read(mnt.join("f")).unwrap(), data);
    drop(f);
    assert!(cached(&cache) >= 40 << 20);
    term(&m);
    let status = m.wait();
    assert_eq!(status.code(), Some(0), "{}", m.stderr());
    assert!(!m.stderr().contains("backup mount: "), "{}", m.stderr());
}

#[test]
fn a_big_file_whose_bytes_do_not_match_its_digest_is_eio_once_read_through() {
    let env = Env::new();
    // Bigger than what is fetched whole on open: read window by window,
    // its digest is compared once the last window is in.
    let Some(snap) = crate::restore_paths::sabotaged(&env, 17 << 20) else {
        return; // the sabotage needs a clone view
    };
    let mnt = env.tmp.path().join("mnt");
    let mut m = Mounted::start(&env, &[OsStr::new(&snap)], &mnt);
    let err = fs::read(mnt.join("f")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    m.wait_for_stderr("do not hash to the manifest's BLAKE3");
    // Refused from then on, at open.
    let err = fs::File::open(mnt.join("f")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert_eq!(fs::read(mnt.join("g")).unwrap(), b"untouched\n");
    assert!(
        m.stderr()
            .contains(&format!("backup restore {snap} --path f --into DIR")),
        "{}",
        m.stderr()
    );
    term(&m);
    assert_eq!(m.wait().code(), Some(0), "{}", m.stderr());
}
