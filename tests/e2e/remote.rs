//! What the SFTP and S3 repository tests share: a real server (sshd or
//! Garage, `servers`), a configuration naming a repository on it, and a job
//! over one dataset of a throwaway pool.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use backup_zfs::testpool::noise;
use backup_zfs::{DatasetName, SnapshotName};
use serde_json::Value;

use crate::harness::{assert_ok, assert_same_tree, stderr, Env};
use crate::servers::garage::Garage;
use crate::servers::garage_cluster::GarageCluster;
use crate::servers::proxy::{Proxy, Slowness};
use crate::servers::sshd::Sshd;

pub const T1: &str = "2026-01-01T00:00:00Z";
pub const T2: &str = "2026-01-01T01:00:00Z";
pub const T3: &str = "2026-01-01T02:00:00Z";

pub enum Server {
    Sftp(Sshd),
    S3(Garage),
    /// Three Garage nodes; the tool talks to node 0.
    S3Cluster(GarageCluster),
}

impl Server {
    /// Stops the server (every node of a cluster): open connections are cut.
    pub fn stop(&mut self) {
        match self {
            Server::Sftp(s) => s.stop(),
            Server::S3(g) => g.stop(),
            Server::S3Cluster(c) => c.stop_all(),
        }
    }

    /// Starts it again with the same ports, keys and data.
    pub fn restart(&mut self) {
        match self {
            Server::Sftp(s) => s.restart(),
            Server::S3(g) => g.restart(),
            Server::S3Cluster(c) => c.restart_all(),
        }
    }

    /// The cluster, for the node-loss tests.
    pub fn cluster(&mut self) -> &mut GarageCluster {
        match self {
            Server::S3Cluster(c) => c,
            _ => panic!("not a Garage cluster"),
        }
    }
}

/// A pool with dataset `app`, a server, and `backup.toml` with repository
/// `nas` on that server and job `app`.
pub struct RemoteEnv {
    pub env: Env,
    pub server: Server,
    pub config: PathBuf,
    pub location: String,
    pub app: DatasetName,
    /// Between the tool and the server, when the server is to look slow.
    pub proxy: Option<Proxy>,
    /// S3 timeout setting (a line for the [s3] table), for slow servers.
    s3_timeout: Option<&'static str>,
}

impl RemoteEnv {
    pub fn sftp() -> RemoteEnv {
        let sshd = Sshd::start();
        let location = sshd.url(sshd.root_dir().join("repo"));
        RemoteEnv::new(Server::Sftp(sshd), location)
    }

    pub fn s3() -> RemoteEnv {
        let garage = Garage::start();
        let location = garage.url("hosts/a");
        RemoteEnv::new(Server::S3(garage), location)
    }

    /// A three-node Garage cluster (replication 3), reached through node 0.
    pub fn s3_cluster() -> RemoteEnv {
        let cluster = GarageCluster::start();
        let location = cluster.url("hosts/cluster");
        RemoteEnv::new(Server::S3Cluster(cluster), location)
    }

    /// SFTP through a proxy that paces and hangs connections.
    pub fn sftp_through(slowness: Slowness) -> RemoteEnv {
        let sshd = Sshd::start();
        let proxy = Proxy::start(sshd.port(), slowness);
        // The proxy's port is another "host" to ssh: same key.
        let known = fs::read_to_string(sshd.known_hosts()).unwrap();
        let line = known.lines().next().unwrap();
        let (_, key) = line.split_once(' ').unwrap();
        fs::write(
            sshd.known_hosts(),
            format!("{known}[127.0.0.1]:{} {key}\n", proxy.port()),
        )
        .unwrap();
        let location = format!(
            "sftp://root@127.0.0.1:{}{}",
            proxy.port(),
            sshd.root_dir().join("repo").display()
        );
        let mut r = RemoteEnv::new(Server::Sftp(sshd), location);
        r.proxy = Some(proxy);
        r.write_config();
        r
    }

    /// S3 through a proxy that paces and hangs connections, with an 8 s
    /// request timeout.
    pub fn s3_through(slowness: Slowness) -> RemoteEnv {
        let garage = Garage::start();
        let port: u16 = garage
            .endpoint()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let proxy = Proxy::start(port, slowness);
        let location = garage.url("hosts/slow");
        let mut r = RemoteEnv::new(Server::S3(garage), location);
        r.proxy = Some(proxy);
        r.s3_timeout = Some("timeout = \"8s\"\n");
        r.write_config();
        r
    }

    fn new(server: Server, location: String) -> RemoteEnv {
        let mut env = Env::without_repo();
        env.repo = PathBuf::from("nas");
        let app = env.dataset("app");
        let r = RemoteEnv {
            config: env.tmp.path().join("backup.toml"),
            env,
            server,
            location,
            app,
            proxy: None,
            s3_timeout: None,
        };
        r.write_config();
        r
    }

    fn server_table(&self) -> String {
        match &self.server {
            Server::Sftp(s) => format!(
                "[repositories.nas.sftp]\nidentity_file = {:?}\nknown_hosts_file = {:?}\ntimeout = \"8s\"\n",
                s.identity_file(),
                s.known_hosts()
            ),
            Server::S3(g) => {
                let endpoint = match &self.proxy {
                    Some(p) => format!("http://127.0.0.1:{}", p.port()),
                    None => g.endpoint(),
                };
                self.s3_table(&endpoint, g.region(), g.access_key_id(), g.secret_access_key())
            }
            Server::S3Cluster(c) => self.s3_table(
                &c.endpoint(),
                c.region(),
                c.access_key_id(),
                c.secret_access_key(),
            ),
        }
    }

    fn s3_table(&self, endpoint: &str, region: &str, key_id: &str, secret: &str) -> String {
        let secret_file = self.env.tmp.path().join("s3.secret");
        fs::write(&secret_file, format!("{secret}\n")).unwrap();
        format!(
            "[repositories.nas.s3]\nendpoint = {:?}\nregion = {:?}\naccess_key_id = {:?}\nsecret_access_key_file = {:?}\n{}",
            endpoint,
            region,
            key_id,
            secret_file,
            self.s3_timeout.unwrap_or("")
        )
    }

    pub fn write_config(&self) {
        let text = format!(
            "state_dir = {:?}\n\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\
             retries = 4\n\n{}\n\
             [jobs.app]\nrepository = \"nas\"\ndatasets = [\"{}\"]\nprefix = \"job\"\n\
             keep_repository = {{ keep_last = 2 }}\n",
            self.env.tmp.path().join("state"),
            self.location,
            self.env.tmp.path().join("pass"),
            self.server_table(),
            self.app,
        );
        fs::write(&self.config, text).unwrap();
    }

    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = self
            .env
            .command(["--config", self.config.to_str().unwrap()]);
        c.args(args).env_remove("BACKUP_PASSWORD_FILE");
        c
    }

    pub fn backup<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command(args).output().unwrap()
    }

    pub fn init(&self) {
        let out = self.backup(["init", "--kdf-memory", "1024", "--kdf-iterations", "1"]);
        assert_ok(&out, "init");
    }

    pub fn list(&self) -> Vec<Value> {
        let out = self.backup(["list", "--json"]);
        assert_ok(&out, "list --json");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Fills `app` with `mib` MiB of incompressible data and a few files.
    pub fn fill(&self, mib: usize, seed: u64) {
        let m = self.env.mountpoint(&self.app);
        fs::write(m.join("hello.txt"), format!("hello {seed}\n")).unwrap();
        fs::create_dir_all(m.join("dir")).unwrap();
        fs::write(m.join("dir/blob"), noise(mib << 20, seed)).unwrap();
    }

    /// The snapshot of `app` a run at `now` made.
    pub fn job_snapshot(&self, now: &str) -> SnapshotName {
        let t: jiff::Timestamp = now.parse().unwrap();
        SnapshotName::new(
            self.app.clone(),
            &format!("job-{}", t.strftime("%Y%m%dT%H%M%SZ")),
        )
        .unwrap()
    }

    /// Restores snapshot `id` into `<pool>/<into>` and compares it with a
    /// clone of `source`.
    pub fn restore_and_compare(&self, id: &str, source: &SnapshotName, into: &str) {
        let target = self.env.pool.root().child(into).unwrap();
        let out = self.backup(["restore", id, "--to", target.as_str()]);
        assert_ok(&out, "restore");
        let clone = self.env.clone_of(source, &format!("{into}-source"));
        assert_same_tree(&self.env.mountpoint(&target), &clone);
    }

    /// Where the server keeps the repository's objects, to look at them.
    pub fn objects(&self) -> Vec<String> {
        match &self.server {
            Server::Sftp(s) => crate::harness::files_under(&s.root_dir().join("repo"))
                .into_iter()
                .map(|p| p.display().to_string())
                .collect(),
            Server::S3(_) | Server::S3Cluster(_) => Vec::new(),
        }
    }

    pub fn cache_files(&self) -> Vec<PathBuf> {
        let remote = self.env.tmp.path().join("cache/remote");
        if !remote.exists() {
            return Vec::new();
        }
        crate::harness::files_under(&remote)
    }
}

/// Every operation a repository must support, on a real server: init, a
/// full and an incremental ship by the job, list, restore into the pool
/// compared with the source, check --read-data, forget and prune, and a
/// restore drill (throwaway pool).
pub fn full_cycle(r: &RemoteEnv) {
    r.init();
    // A second init refuses, naming the location.
    let again = r.backup(["init", "--kdf-memory", "1024", "--kdf-iterations", "1"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    r.fill(6, 1);
    assert_ok(&r.backup(["run", "app", "--now", T1]), "first run");
    let m = r.env.mountpoint(&r.app);
    fs::write(m.join("hello.txt"), "hello again\n").unwrap();
    fs::write(m.join("new.txt"), noise(300_000, 9)).unwrap();
    assert_ok(&r.backup(["run", "app", "--now", T2]), "second run");

    let list = r.list();
    assert_eq!(list.len(), 2, "{list:#?}");
    assert_eq!(list[0]["kind"], "full");
    assert_eq!(list[1]["kind"], "incremental");
    assert!(
        list[1]["new_stored_bytes"].as_u64().unwrap() * 4
            < list[0]["new_stored_bytes"].as_u64().unwrap(),
        "the incremental stored little: {list:#?}"
    );
    // Metadata came back from the cache: segments and manifests are there.
    let cached = r.cache_files();
    assert!(
        cached
            .iter()
            .any(|p| p.to_string_lossy().contains("/index/"))
            && cached
                .iter()
                .any(|p| p.to_string_lossy().contains("/snapshots/")),
        "{cached:?}"
    );

    let id2 = list[1]["id"].as_str().unwrap().to_string();
    r.restore_and_compare(&id2, &r.job_snapshot(T2), "restored");

    let out = r.backup(["check", "--read-data"]);
    assert_ok(&out, "check --read-data");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no errors"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A third run: keep_last = 2 forgets the full, which the incrementals
    // still need, so it is kept; prune then rewrites and deletes nothing
    // needed.
    fs::write(m.join("third.txt"), "third\n").unwrap();
    assert_ok(&r.backup(["run", "app", "--now", T3]), "third run");
    let out = r.backup(["prune", "--repack-unused", "0"]);
    assert_ok(&out, "prune");
    let out = r.backup(["check", "--read-data"]);
    assert_ok(&out, "check after prune");
    let id3 = r.list().last().unwrap()["id"].as_str().unwrap().to_string();
    r.restore_and_compare(&id3, &r.job_snapshot(T3), "restored3");

    // A restore drill of the job, into a throwaway pool.
    let out = r.backup([
        "drill",
        "run",
        "app",
        "--json",
        "--now",
        "2026-01-01T03:00:00Z",
    ]);
    assert_ok(&out, "drill run");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "pass", "{report:#}");
}

/// The repository's directory on the SFTP server.
pub fn sftp_repo_dir(r: &RemoteEnv) -> PathBuf {
    match &r.server {
        Server::Sftp(s) => s.root_dir().join("repo"),
        Server::S3(_) | Server::S3Cluster(_) => panic!("not an SFTP repository"),
    }
}
