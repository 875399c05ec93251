//! Real servers for the remote-repository tests: an OpenSSH sshd for SFTP
//! ([`Sshd`]), a Garage S3 server ([`Garage`]) and a three-node Garage
//! cluster (`garage_cluster::GarageCluster`, for node loss), each on free
//! loopback ports with its own keys and a throwaway directory, stopped on
//! drop.
//!
//! Every test starts its own servers (nextest runs tests in parallel
//! processes): nothing here uses a fixed port, a fixed path or a process
//! name. Daemons are stopped by the pids this process started, with every
//! process they forked (sshd forks a session per connection, in a session of
//! its own), and they die with the test process if it is killed.
//!
//! These tests need the servers installed (`scripts/test.sh` does it); the
//! openzfs-vm lane has neither and skips modules named `servers::` and
//! `remote_*` (see `.ci/run`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

pub mod garage;
pub mod garage_cluster;
pub mod proxy;
mod smoke;
pub mod sshd;

pub use garage::Garage;
pub use sshd::Sshd;

/// `n` distinct ports that were free a moment ago on 127.0.0.1 (the kernel
/// hands them out; the listeners are closed before returning). Another
/// process may take one before the server binds it: callers retry.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A server process started by this test, its output appended to a log file.
pub struct Daemon {
    what: String,
    child: Child,
    log: PathBuf,
    /// Where this run's output starts in `log` (a restart appends).
    log_start: u64,
    reaped: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `cmd` in a process group of its own, stdin closed, stdout and
    /// stderr appended to `log`.
    pub fn spawn(what: &str, mut cmd: Command, log: &Path) -> Daemon {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let log_start = out.metadata().unwrap().len();
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        let line = format!("{cmd:?}");
        let child = spawn_from_keeper(cmd)
            .unwrap_or_else(|e| panic!("start {what}: {line}: {e} (run scripts/test.sh)"));
        Daemon {
            what: what.to_string(),
            child,
            log: log.to_path_buf(),
            log_start,
            reaped: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended (reaped; no signal may be
    /// sent to its pid afterwards).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.reaped = self.child.try_wait().expect("waitpid");
        }
        self.reaped
    }

    /// This run's output so far.
    pub fn output(&self) -> String {
        let mut f = File::open(&self.log).unwrap();
        f.seek(SeekFrom::Start(self.log_start)).unwrap();
        let mut s = Vec::new();
        f.read_to_end(&mut s).unwrap();
        String::from_utf8_lossy(&s).into_owned()
    }

    /// The last lines of the log, for a panic message.
    pub fn log_tail(&self) -> String {
        let all = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = all.lines().collect();
        let from = lines.len().saturating_sub(60);
        format!(
            "--- last lines of {} ---\n{}",
            self.log.display(),
            lines[from..].join("\n")
        )
    }

    /// Polls `ready` every 20 ms until it holds. `Err` if the process
    /// exited first (with its status) or the deadline passed (`None`).
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(&mut Daemon) -> bool,
    ) -> Result<(), Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready(self) {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(Some(status));
            }
            if Instant::now() > deadline {
                return Err(None);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics with what went wrong and the log's tail.
    pub fn fail(&mut self, doing: &str, why: Option<ExitStatus>) -> ! {
        let why = match why {
            Some(status) => format!("it exited ({status})"),
            None => "it timed out".to_string(),
        };
        panic!(
            "{} (pid {}): {doing}: {why}\n{}",
            self.what,
            self.pid(),
            self.log_tail()
        )
    }

    /// SIGKILLs the process (a crash: nothing flushed, connections cut by
    /// the kernel) and reaps it. Only the process itself: for daemons that
    /// fork nothing, as Garage.
    pub fn kill(&mut self) {
        if self.exited().is_some() {
            return;
        }
        signal(self.pid() as i32, libc::SIGKILL);
        self.reaped = Some(self.child.wait().expect("waitpid"));
    }

    /// Ends the process and everything it forked: freezes the tree from the
    /// top (SIGSTOP, so nothing forks or is reaped while it is walked, hence
    /// no pid is reused), SIGKILLs the descendants, then SIGTERMs the
    /// daemon itself and waits for it (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let root = self.pid() as i32;
        let tree = freeze_tree(root);
        for &pid in tree.iter().filter(|&&p| p != root) {
            signal(pid, libc::SIGKILL);
        }
        signal(root, libc::SIGTERM);
        signal(root, libc::SIGCONT);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.exited().is_none() {
            if Instant::now() > deadline {
                signal(root, libc::SIGKILL);
                self.reaped = Some(self.child.wait().expect("waitpid"));
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(pid: i32, sig: i32) {
    #[allow(unsafe_code)]
    // SAFETY: kill(2) has no memory effects; pids come from our own tree.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Stops `root` and, top-down, every descendant, each stopped before its
/// children are listed. Returns the pids, `root` first.
fn freeze_tree(root: i32) -> Vec<i32> {
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let pid = tree[i];
        signal(pid, libc::SIGSTOP);
        wait_stopped(pid);
        for child in children(pid) {
            if !tree.contains(&child) {
                tree.push(child);
            }
        }
        i += 1;
    }
    tree
}

/// `pid`'s state and parent from /proc/PID/stat (None once it is gone).
pub fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn wait_stopped(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Some((state, _)) = proc_stat(pid) {
        if matches!(state, 'T' | 't' | 'Z' | 'X') || Instant::now() > deadline {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn children(parent: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` from a thread that lives as long as the test process, with
/// SIGKILL as its parent-death signal: a daemon dies with the test process
/// even if that is killed before a drop can run. (The signal follows the
/// thread that forked, so a daemon restarted from a short-lived thread would
/// otherwise die with that thread.)
fn spawn_from_keeper(mut cmd: Command) -> io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("server-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the server keeper thread");
        Mutex::new(tx)
    });
    let parent = std::process::id() as i32;
    #[allow(unsafe_code)]
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (tx, rx) = mpsc::channel();
    keeper
        .lock()
        .unwrap()
        .send((cmd, tx))
        .expect("the server keeper thread is gone");
    rx.recv().expect("the server keeper thread is gone")
}

/// True if the server exited because its port was taken (sshd or Garage).
pub fn bind_failed(daemon: &Daemon) -> bool {
    let out = daemon.output();
    out.contains("Address already in use") || out.contains("Cannot bind any address")
}

/// Starts a stopped server again on its old ports, retrying for about 5 s
/// while a port is briefly busy; panics with the server's log otherwise.
pub fn respawn(mut spawn: impl FnMut() -> Result<(), (Daemon, Option<ExitStatus>)>) {
    for attempt in 1..=25 {
        match spawn() {
            Ok(()) => return,
            Err((daemon, _)) if attempt < 25 && bind_failed(&daemon) => {
                thread::sleep(Duration::from_millis(200));
            }
            Err((mut daemon, why)) => daemon.fail("restart", why),
        }
    }
}
