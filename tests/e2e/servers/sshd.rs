//! A real OpenSSH sshd on a free loopback port, for the SFTP repository
//! tests: its own host key, config and client key pair in a throwaway
//! directory, public-key login as root only.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use super::{bind_failed, free_ports, respawn, Daemon};

const SSHD: &str = "/usr/sbin/sshd";
/// sshd's privilege separation directory (compiled in; Debian's unit
/// creates it at boot, nothing does in a container).
const PRIVSEP_DIR: &str = "/run/sshd";

/// A running sshd. Everything lives in one temporary directory, removed on
/// drop after the server (and every session it forked) is stopped.
pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    daemon: Option<Daemon>,
}

impl Sshd {
    /// Generates the keys, writes the configs, starts sshd and checks that a
    /// client can log in. Panics with sshd's log if it cannot.
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (scripts/test.sh does)"
        );
        fs::create_dir_all(PRIVSEP_DIR).unwrap();
        let dir = tempfile::Builder::new().prefix("sshd-").tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"), "test sshd host key");
        keygen(&d.join("id_ed25519"), "test client key");
        fs::copy(d.join("id_ed25519.pub"), d.join("authorized_keys")).unwrap();
        fs::create_dir(d.join("remote")).unwrap();
        let mut sshd = Sshd {
            dir,
            port: 0,
            daemon: None,
        };
        // A port can be taken between the kernel handing it out and sshd
        // binding it: then try another.
        for attempt in 1..=5 {
            sshd.port = free_ports(1)[0];
            sshd.write_configs();
            match sshd.spawn() {
                Ok(()) => break,
                Err((daemon, _)) if attempt < 5 && bind_failed(&daemon) => {}
                Err((mut daemon, why)) => daemon.fail("start", why),
            }
        }
        sshd.check_login();
        sshd
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &'static str {
        "root"
    }

    /// The client's private key (ed25519, no passphrase), authorized for root.
    pub fn identity_file(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }

    /// A known_hosts file holding this server's host key, for
    /// `[127.0.0.1]:PORT`.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// A client config (`ssh -F`) for `Host 127.0.0.1` with this server's
    /// port, user, identity and known_hosts, strict host key checking and
    /// batch mode: `ssh -F CONFIG 127.0.0.1` logs in with no other option.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The host key's fingerprint as `ssh-keygen -l` prints it
    /// (`SHA256:...`).
    pub fn host_key_fingerprint(&self) -> String {
        let out = run(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join("host_key.pub")));
        // "256 SHA256:... test sshd host key (ED25519)"
        let text = String::from_utf8(out.stdout).unwrap();
        text.split_whitespace()
            .nth(1)
            .filter(|f| f.starts_with("SHA256:"))
            .unwrap_or_else(|| panic!("ssh-keygen -lf printed {text:?}"))
            .to_string()
    }

    /// `sftp://root@127.0.0.1:PORT/<path>`, `path` as given. An absolute
    /// path (for instance under [`Sshd::root_dir`]) gives a double slash,
    /// which names the same place whether the URL's path is read as absolute
    /// (`//tmp/x` is `/tmp/x`) or, like restic does, relative to the login
    /// directory after dropping the first slash. SFTP sessions start in
    /// `root_dir()`, so a relative path lands there.
    pub fn url(&self, path: impl AsRef<Path>) -> String {
        format!(
            "sftp://root@127.0.0.1:{}/{}",
            self.port,
            path.as_ref().display()
        )
    }

    /// An empty directory for the tests' remote files (sshd runs as root:
    /// absolute paths work); SFTP sessions start here.
    pub fn root_dir(&self) -> PathBuf {
        self.dir.path().join("remote")
    }

    /// sshd's log (`-e`), appended to by every (re)start.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// Stops sshd and ends every session: open connections are cut.
    pub fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
    }

    /// Starts sshd again on the same port with the same keys (stops it
    /// first if it is running). Retries for a few seconds if the port is
    /// briefly busy.
    pub fn restart(&mut self) {
        self.stop();
        respawn(|| self.spawn());
    }

    /// Starts sshd and waits until it listens; on failure returns the
    /// (exited or hung, then stopped) daemon for its log, and its exit
    /// status (`None`: it never listened in time).
    fn spawn(&mut self) -> Result<(), (Daemon, Option<ExitStatus>)> {
        let d = self.dir.path();
        let mut cmd = Command::new(SSHD);
        // -D: stay in the foreground (our child); -e: log to stderr.
        cmd.arg("-D").arg("-e").arg("-f").arg(d.join("sshd_config"));
        let mut daemon = Daemon::spawn("sshd", cmd, &self.log());
        let listening = format!("Server listening on 127.0.0.1 port {}.", self.port);
        match daemon.wait_until(Duration::from_secs(20), |d| d.output().contains(&listening)) {
            Ok(()) => {
                self.daemon = Some(daemon);
                Ok(())
            }
            Err(why) => {
                daemon.stop();
                Err((daemon, why))
            }
        }
    }

    /// Logs in once with the client config: a server that starts but
    /// refuses root (a locked root account with UsePAM no, say) fails here
    /// with its log rather than later in a test.
    fn check_login(&mut self) {
        let out = Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["127.0.0.1", "true"])
            .stdin(Stdio::null())
            .output()
            .expect("run ssh (openssh-client)");
        if !out.status.success() {
            let tail = self.daemon.as_ref().map(Daemon::log_tail);
            panic!(
                "ssh -F {} 127.0.0.1 true failed ({}): {}\n{}",
                self.ssh_config().display(),
                out.status,
                String::from_utf8_lossy(&out.stderr),
                tail.unwrap_or_default()
            );
        }
    }

    fn write_configs(&self) {
        let d = self.dir.path();
        let port = self.port;
        fs::write(
            d.join("sshd_config"),
            format!(
                "# Written by tests/e2e/servers/sshd.rs\n\
                 Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {host_key}\n\
                 PidFile none\n\
                 AuthorizedKeysFile {authorized}\n\
                 AuthenticationMethods publickey\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 # The temporary directory is not root's home: skip the modes check.\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 X11Forwarding no\n\
                 PrintMotd no\n\
                 Subsystem sftp internal-sftp -d {remote}\n",
                host_key = d.join("host_key").display(),
                authorized = d.join("authorized_keys").display(),
                remote = self.root_dir().display(),
            ),
        )
        .unwrap();
        let host_pub = fs::read_to_string(d.join("host_key.pub")).unwrap();
        // "ssh-ed25519 AAAA... comment": the key type and the key.
        let key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", key.join(" ")),
        )
        .unwrap();
        fs::write(
            d.join("ssh_config"),
            format!(
                "# Written by tests/e2e/servers/sshd.rs\n\
                 Host 127.0.0.1\n\
                 \x20 Port {port}\n\
                 \x20 User root\n\
                 \x20 IdentityFile {identity}\n\
                 \x20 IdentitiesOnly yes\n\
                 \x20 UserKnownHostsFile {known}\n\
                 \x20 GlobalKnownHostsFile /dev/null\n\
                 \x20 StrictHostKeyChecking yes\n\
                 \x20 UpdateHostKeys no\n\
                 \x20 BatchMode yes\n\
                 \x20 ConnectTimeout 10\n",
                identity = self.identity_file().display(),
                known = self.known_hosts().display(),
            ),
        )
        .unwrap();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn keygen(path: &Path, comment: &str) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path));
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
