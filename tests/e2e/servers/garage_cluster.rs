//! A real three-node Garage cluster (2.x) on loopback, replication factor 3
//! and the default `consistent` mode (reads and writes need 2 of 3 nodes),
//! for the tests of node loss: each node a process of its own with its own
//! directories and ports, one RPC secret, killed (SIGKILL) and restarted
//! by the pid this test started.

use std::fs;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::garage::{
    binary, field, http_status, random_hex, write_node_config, NodePorts, BUCKET, REGION,
};
use super::{bind_failed, free_ports, respawn, Daemon};

/// Nodes in the cluster, and the replication factor.
pub const NODES: usize = 3;

struct Node {
    dir: PathBuf,
    s3_port: u16,
    rpc_port: u16,
    admin_port: u16,
    /// `<64 hex>@127.0.0.1:PORT`, once known.
    id: String,
    daemon: Option<Daemon>,
}

impl Node {
    fn config(&self) -> PathBuf {
        self.dir.join("garage.toml")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("garage.log")
    }
}

/// A running cluster, a bucket and a key allowed on it. Everything lives in
/// one temporary directory (a folder per node), removed on drop after every
/// node is stopped. Clients talk to node 0's S3 API: the tests kill the
/// others.
pub struct GarageCluster {
    bin: PathBuf,
    /// Removed on drop, after the nodes are stopped.
    _dir: tempfile::TempDir,
    nodes: Vec<Node>,
    key_id: String,
    secret: String,
}

impl GarageCluster {
    /// Starts three nodes, connects them, assigns each a role (one zone,
    /// 1 GB), applies the layout, waits until the cluster is healthy, then
    /// creates the bucket and the key. Panics with a node's log if it does
    /// not come up.
    pub fn start() -> GarageCluster {
        let dir = tempfile::Builder::new()
            .prefix("garage-cluster-")
            .tempdir()
            .unwrap();
        let nodes = (0..NODES)
            .map(|i| {
                let d = dir.path().join(format!("node{i}"));
                fs::create_dir(&d).unwrap();
                Node {
                    dir: d,
                    s3_port: 0,
                    rpc_port: 0,
                    admin_port: 0,
                    id: String::new(),
                    daemon: None,
                }
            })
            .collect();
        let mut c = GarageCluster {
            bin: binary(),
            _dir: dir,
            nodes,
            key_id: String::new(),
            secret: String::new(),
        };
        let secret = random_hex(32);
        // A port can be taken between the kernel handing it out and Garage
        // binding it: then stop what started and try other ports.
        'attempts: for attempt in 1..=5 {
            let ports = free_ports(3 * NODES);
            for (i, n) in c.nodes.iter_mut().enumerate() {
                n.s3_port = ports[3 * i];
                n.rpc_port = ports[3 * i + 1];
                n.admin_port = ports[3 * i + 2];
                write_config(n, &secret);
            }
            for i in 0..NODES {
                match c.spawn(i) {
                    Ok(()) => {}
                    Err((daemon, _)) if attempt < 5 && bind_failed(&daemon) => {
                        c.stop_all();
                        continue 'attempts;
                    }
                    Err((mut daemon, why)) => daemon.fail("start", why),
                }
            }
            break;
        }
        c.set_up();
        c
    }

    /// `http://127.0.0.1:PORT`, node 0's S3 API (path-style buckets).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.nodes[0].s3_port)
    }

    pub fn region(&self) -> &'static str {
        REGION
    }

    pub fn access_key_id(&self) -> &str {
        &self.key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.secret
    }

    /// `s3://BUCKET/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// SIGKILLs node `i` by its pid (a crash: nothing flushed, its
    /// connections cut by the kernel). Its data stays for
    /// [`GarageCluster::restart`].
    pub fn kill(&mut self, i: usize) {
        if let Some(mut daemon) = self.nodes[i].daemon.take() {
            daemon.kill();
        }
    }

    /// Starts node `i` again on its ports with its data, has the nodes
    /// that run connect to it, and waits until every running node is
    /// connected and the cluster is healthy.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        respawn(|| self.spawn(i));
        let id = self.nodes[i].id.clone();
        for j in self.running().into_iter().filter(|&j| j != i) {
            self.cli(j, &["node", "connect", &id]);
        }
        self.wait_healthy();
    }

    /// Stops every node (SIGTERM, then waits).
    pub fn stop_all(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut daemon) = n.daemon.take() {
                daemon.stop();
            }
        }
    }

    /// Starts every stopped node again (see [`GarageCluster::restart`]).
    pub fn restart_all(&mut self) {
        for i in 0..NODES {
            if self.nodes[i].daemon.is_none() {
                self.restart(i);
            }
        }
    }

    /// The last lines of every node's log, for a panic message.
    pub fn log_tails(&self) -> String {
        self.nodes
            .iter()
            .filter_map(|n| n.daemon.as_ref().map(Daemon::log_tail))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn running(&self) -> Vec<usize> {
        (0..NODES)
            .filter(|&i| self.nodes[i].daemon.is_some())
            .collect()
    }

    /// Starts node `i`'s `garage server` and waits until its admin API and
    /// its S3 port answer (the cluster's health is waited for elsewhere).
    fn spawn(&mut self, i: usize) -> Result<(), (Daemon, Option<ExitStatus>)> {
        let n = &mut self.nodes[i];
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c").arg(n.config()).arg("server");
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "garage=info");
        }
        cmd.env("NO_COLOR", "1");
        let mut daemon = Daemon::spawn(&format!("garage node {i}"), cmd, &n.log());
        let (admin, s3) = (n.admin_port, n.s3_port);
        match daemon.wait_until(Duration::from_secs(60), |_| {
            http_status(admin, "/health").is_some() && TcpStream::connect(("127.0.0.1", s3)).is_ok()
        }) {
            Ok(()) => {
                n.daemon = Some(daemon);
                Ok(())
            }
            Err(why) => {
                daemon.stop();
                Err((daemon, why))
            }
        }
    }

    /// Connects the nodes, applies a layout with all three, creates the
    /// bucket and the key.
    fn set_up(&mut self) {
        for i in 0..NODES {
            let out = self.cli(i, &["node", "id", "-q"]);
            let id = out.trim().to_string();
            let hex = id.split('@').next().unwrap();
            assert!(
                hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                "garage node id -q printed {out:?}"
            );
            self.nodes[i].id = id;
        }
        for i in 1..NODES {
            let id = self.nodes[i].id.clone();
            self.cli(0, &["node", "connect", &id]);
        }
        for i in 0..NODES {
            let hex = self.nodes[i].id.split('@').next().unwrap().to_string();
            self.cli(0, &["layout", "assign", "-z", "dc1", "-c", "1G", &hex]);
        }
        self.cli(0, &["layout", "apply", "--version", "1"]);
        self.wait_healthy();
        self.cli(0, &["bucket", "create", BUCKET]);
        let out = self.cli(0, &["key", "create", "backup-tests-key"]);
        self.key_id = field(&out, "Key ID:");
        self.secret = field(&out, "Secret key:");
        let key = self.key_id.clone();
        self.cli(
            0,
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", &key,
            ],
        );
    }

    /// Waits (60 s at most) until a running node reports every running node
    /// connected and, with all three up, every partition fully replicated
    /// (`garage json-api GetClusterHealth`).
    fn wait_healthy(&mut self) {
        let running = self.running();
        let via = running[0];
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        loop {
            if let Some(h) = self.health(via) {
                let connected = h["connectedNodes"].as_u64() == Some(running.len() as u64);
                let status_ok = running.len() < NODES || h["status"] == "healthy";
                if connected && status_ok {
                    return;
                }
                last = h.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the Garage cluster did not become healthy in 60 s: {last}\n{}",
                self.log_tails()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GetClusterHealth` as node `i` sees it, or None if it does not answer.
    fn health(&self, i: usize) -> Option<serde_json::Value> {
        let out = self.run(i, &["json-api", "GetClusterHealth"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// `garage -c NODE_CONFIG ARGS`, asserted to succeed; its stdout.
    fn cli(&self, i: usize, args: &[&str]) -> String {
        let out = self.run(i, args);
        if !out.status.success() {
            panic!(
                "garage (node {i}) {} failed ({}):\nstdout:\n{}\nstderr:\n{}\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log_tails()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run(&self, i: usize, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("-c")
            .arg(self.nodes[i].config())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.bin.display()))
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn write_config(n: &Node, rpc_secret: &str) {
    let ports = NodePorts {
        rpc: n.rpc_port,
        s3: n.s3_port,
        admin: n.admin_port,
    };
    write_node_config(&n.config(), &n.dir, 3, ports, rpc_secret);
}
