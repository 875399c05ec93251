//! A real Garage S3 server (2.x), single node, on free loopback ports, for
//! the S3 repository tests: one bucket and one key allowed on it.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::{bind_failed, free_ports, respawn, Daemon};

pub(super) const REGION: &str = "garage";
pub(super) const BUCKET: &str = "backup-tests";

/// A running Garage. Its configuration, metadata, data and log live in one
/// temporary directory, removed on drop after the server is stopped.
pub struct Garage {
    bin: PathBuf,
    dir: tempfile::TempDir,
    s3_port: u16,
    admin_port: u16,
    key_id: String,
    secret: String,
    daemon: Option<Daemon>,
}

impl Garage {
    /// Starts a fresh single-node cluster (layout applied) with a bucket and
    /// a key that may read, write and own it. Panics with Garage's log if it
    /// does not come up.
    pub fn start() -> Garage {
        let bin = binary();
        let dir = tempfile::Builder::new()
            .prefix("garage-")
            .tempdir()
            .unwrap();
        let mut garage = Garage {
            bin,
            dir,
            s3_port: 0,
            admin_port: 0,
            key_id: String::new(),
            secret: String::new(),
            daemon: None,
        };
        // A port can be taken between the kernel handing it out and Garage
        // binding it: then try others.
        for attempt in 1..=5 {
            let ports = free_ports(3);
            garage.s3_port = ports[0];
            garage.admin_port = ports[2];
            garage.write_config(ports[1]);
            match garage.spawn() {
                Ok(()) => break,
                Err((daemon, _)) if attempt < 5 && bind_failed(&daemon) => {}
                Err((mut daemon, why)) => daemon.fail("start", why),
            }
        }
        garage.set_up();
        garage
    }

    /// `http://127.0.0.1:PORT`, the S3 API (path-style buckets).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    pub fn region(&self) -> &'static str {
        REGION
    }

    pub fn bucket(&self) -> &'static str {
        BUCKET
    }

    pub fn access_key_id(&self) -> &str {
        &self.key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.secret
    }

    /// `s3://BUCKET/<prefix>` (the endpoint, region and key come from the
    /// environment: [`Garage::with_env`]).
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// Sets the key, region and endpoint in `cmd`'s environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`), and removes the variables
    /// that would override them (a profile, a session token).
    pub fn with_env(&self, cmd: &mut Command) {
        cmd.env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE");
    }

    /// Garage's log, appended to by every (re)start.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("garage.log")
    }

    /// Stops the server (SIGTERM, then waits); its data stays for
    /// [`Garage::restart`]. Open connections are cut.
    pub fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
    }

    /// Starts the server again with the same ports, keys and data (stops it
    /// first if it is running) and waits until it serves. Retries for a few
    /// seconds if a port is briefly busy.
    pub fn restart(&mut self) {
        self.stop();
        respawn(|| self.spawn());
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("garage.toml")
    }

    fn write_config(&self, rpc_port: u16) {
        let ports = NodePorts {
            rpc: rpc_port,
            s3: self.s3_port,
            admin: self.admin_port,
        };
        write_node_config(&self.config(), self.dir.path(), 1, ports, &random_hex(32));
    }

    /// Starts `garage server` and waits until its admin API answers (and,
    /// once a layout exists, reports the node healthy) and the S3 port
    /// accepts connections.
    fn spawn(&mut self) -> Result<(), (Daemon, Option<ExitStatus>)> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c").arg(self.config()).arg("server");
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "garage=info");
        }
        // A log file, not a terminal: no colours.
        cmd.env("NO_COLOR", "1");
        let mut daemon = Daemon::spawn("garage", cmd, &self.log());
        let need_healthy = self.daemon_has_layout();
        let admin = self.admin_port;
        let s3 = self.s3_port;
        match daemon.wait_until(Duration::from_secs(60), |_| {
            match http_status(admin, "/health") {
                // 503 until the layout is applied and the node is up.
                Some(200) => {}
                Some(_) if !need_healthy => {}
                _ => return false,
            }
            TcpStream::connect(("127.0.0.1", s3)).is_ok()
        }) {
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

    /// Whether [`Garage::set_up`] ran (a restart waits for health).
    fn daemon_has_layout(&self) -> bool {
        !self.key_id.is_empty()
    }

    /// Assigns the node a role, applies the layout, creates the bucket and
    /// the key.
    fn set_up(&mut self) {
        let out = self.cli(&["node", "id", "-q"]);
        // "<64 hex>@127.0.0.1:PORT"
        let id = out.split('@').next().unwrap().trim().to_string();
        assert!(
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "garage node id -q printed {out:?}"
        );
        self.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &id]);
        self.cli(&["layout", "apply", "--version", "1"]);
        let healthy = self.admin_port;
        if let Err(why) = self
            .daemon
            .as_mut()
            .unwrap()
            .wait_until(Duration::from_secs(60), |_| {
                http_status(healthy, "/health") == Some(200)
            })
        {
            self.daemon
                .as_mut()
                .unwrap()
                .fail("healthy after layout apply", why)
        }
        self.cli(&["bucket", "create", BUCKET]);
        let out = self.cli(&["key", "create", "backup-tests-key"]);
        self.key_id = field(&out, "Key ID:");
        self.secret = field(&out, "Secret key:");
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            BUCKET,
            "--key",
            &self.key_id.clone(),
        ]);
    }

    /// `garage -c CONFIG ARGS`, asserted to succeed; its stdout.
    fn cli(&mut self, args: &[&str]) -> String {
        let out: Output = Command::new(&self.bin)
            .arg("-c")
            .arg(self.config())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.bin.display()));
        if !out.status.success() {
            let tail = self.daemon.as_ref().map(Daemon::log_tail);
            panic!(
                "garage {} failed ({}):\nstdout:\n{}\nstderr:\n{}\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail.unwrap_or_default()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `BACKUP_TEST_GARAGE`, else `garage` on PATH.
pub(super) fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("BACKUP_TEST_GARAGE") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "BACKUP_TEST_GARAGE={} is not a file: run scripts/test.sh \
             (it builds Garage once, see scripts/lib/garage.sh)",
            bin.display()
        );
        return bin;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("garage"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no Garage: set BACKUP_TEST_GARAGE or put garage on PATH; \
                 run scripts/test.sh (it builds Garage once, see scripts/lib/garage.sh)"
            )
        })
}

/// The value after `label` on its line of `garage key create`'s output:
///
/// ```text
/// $ garage key create backup-tests-key      (2.5.0)
/// ==== ACCESS KEY INFORMATION ====
/// Key ID:              GK...
/// Key name:            backup-tests-key
/// Secret key:          ...
/// ```
pub(super) fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("no {label:?} in garage's output:\n{output}"))
}

/// The status code of `GET path` on 127.0.0.1:`port`, or None if nothing
/// answers within a second.
pub(super) fn http_status(port: u16, path: &str) -> Option<u16> {
    let deadline = Duration::from_secs(1);
    let addr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, deadline).ok()?;
    s.set_read_timeout(Some(deadline)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    let start = Instant::now();
    let mut n = 0;
    while n < head.len() && start.elapsed() < deadline {
        match s.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    // "HTTP/1.1 200"
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

/// `bytes` random bytes as hex, from the kernel.
pub(super) fn random_hex(bytes: usize) -> String {
    use std::fmt::Write as _;
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One node's ports.
#[derive(Clone, Copy)]
pub(super) struct NodePorts {
    pub rpc: u16,
    pub s3: u16,
    pub admin: u16,
}

/// Writes a node's `garage.toml` at `config`: its data under `dir`, this
/// replication factor, these ports and RPC secret (the single server's and
/// each node of the cluster's).
pub(super) fn write_node_config(
    config: &std::path::Path,
    dir: &std::path::Path,
    replication: u8,
    ports: NodePorts,
    rpc_secret: &str,
) {
    fs::write(
        config,
        format!(
            "# Written by tests/e2e/servers/garage.rs\n\
             metadata_dir = \"{meta}\"\n\
             data_dir = \"{data}\"\n\
             db_engine = \"sqlite\"\n\
             replication_factor = {replication}\n\
             rpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_secret = \"{rpc_secret}\"\n\
             \n\
             [s3_api]\n\
             s3_region = \"{REGION}\"\n\
             api_bind_addr = \"127.0.0.1:{s3}\"\n\
             \n\
             [admin]\n\
             api_bind_addr = \"127.0.0.1:{admin}\"\n\
             admin_token = \"{token}\"\n",
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
            rpc = ports.rpc,
            s3 = ports.s3,
            admin = ports.admin,
            token = random_hex(16),
        ),
    )
    .unwrap();
}
