//! Many hosts, one repository over SFTP (a real sshd): hosts `alpha` and
//! `beta`, each with its own configuration, catalog, state, cache and host
//! name (`BACKUP_HOSTNAME`), ship different datasets at the same time, twice,
//! the second time with a prune from a third host, `gamma`, started beside
//! them. Afterwards `check --read-data` passes, every host's latest snapshot
//! restores identically, and cross-host deduplication is measured against
//! what each host alone would store (printed; recorded in
//! docs/BENCHMARKS.md).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

use backup_zfs::testpool::noise;
use backup_zfs::{DatasetName, SnapshotName};
use serde_json::Value;

use crate::harness::{assert_ok, assert_same_tree, files_under, Env};
use crate::remote::{T1, T2};
use crate::servers::sshd::Sshd;

/// One host: its name and its directory (configuration, state with the
/// catalog's job records, metadata cache).
struct Host {
    name: &'static str,
    dir: PathBuf,
}

struct Site {
    env: Env,
    sshd: Sshd,
    location: String,
}

impl Site {
    fn new() -> Site {
        let mut env = Env::without_repo();
        env.repo = PathBuf::from("nas");
        let sshd = Sshd::start();
        let location = sshd.url(sshd.root_dir().join("repo"));
        Site {
            env,
            sshd,
            location,
        }
    }

    /// A host whose job (if given a dataset) ships it with prefix `job`.
    fn host(&self, name: &'static str, dataset: Option<&DatasetName>) -> Host {
        let dir = self.env.tmp.path().join(name);
        fs::create_dir(&dir).unwrap();
        let job = match dataset {
            Some(ds) => format!(
                "[jobs.{name}]\nrepository = \"nas\"\ndatasets = [\"{ds}\"]\nprefix = \"job\"\n\
                 keep_repository = {{ keep_last = 5 }}\n"
            ),
            None => String::new(),
        };
        fs::write(
            dir.join("backup.toml"),
            format!(
                "state_dir = {:?}\n\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\
                 retries = 4\n\n[repositories.nas.sftp]\nidentity_file = {:?}\n\
                 known_hosts_file = {:?}\ntimeout = \"8s\"\n\n{job}",
                dir.join("state"),
                self.location,
                self.env.tmp.path().join("pass"),
                self.sshd.identity_file(),
                self.sshd.known_hosts(),
            ),
        )
        .unwrap();
        Host { name, dir }
    }

    /// `backup ARGS` as `host`: its configuration, cache and host name.
    fn command(&self, host: &Host, args: &[&str]) -> Command {
        let config = host.dir.join("backup.toml");
        let mut c = self.env.command(["--config", config.to_str().unwrap()]);
        c.args(args)
            .env_remove("BACKUP_PASSWORD_FILE")
            .env("BACKUP_CACHE_DIR", host.dir.join("cache"))
            .env("BACKUP_STATE_DIR", host.dir.join("state"))
            .env("BACKUP_HOSTNAME", host.name);
        c
    }

    fn run(&self, host: &Host, args: &[&str]) -> Output {
        self.command(host, args).output().unwrap()
    }

    fn spawn(&self, host: &Host, args: &[&str]) -> Child {
        self.command(host, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Bytes of packs in the shared repository.
    fn pack_bytes(&self) -> u64 {
        bytes_under(&self.sshd.root_dir().join("repo/data"))
    }
}

fn bytes_under(dir: &std::path::Path) -> u64 {
    files_under(dir)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

/// Waits for every child; asserts each succeeded.
fn wait_all(children: Vec<(String, Child)>) -> Vec<Output> {
    children
        .into_iter()
        .map(|(what, child)| {
            let out = child.wait_with_output().unwrap();
            assert_ok(&out, &what);
            out
        })
        .collect()
}

fn snapshot(ds: &DatasetName, now: &str) -> SnapshotName {
    let t: jiff::Timestamp = now.parse().unwrap();
    SnapshotName::new(ds.clone(), &format!("job-{}", t.strftime("%Y%m%dT%H%M%SZ"))).unwrap()
}

/// `init` with cheap key derivation and 128 KiB average chunks: the
/// datasets here are a few MiB, and with the default 1 MiB average a 4 MiB
/// file shares only one or two chunks with its copy elsewhere (a chunk
/// crosses each file's boundary), which says little about deduplication.
const INIT: [&str; 7] = [
    "init",
    "--kdf-memory",
    "1024",
    "--kdf-iterations",
    "1",
    "--chunk-avg",
    "128",
];

/// What `dataset`'s snapshots at T1 and T2 take in a repository of their own
/// (a directory, the same chunking): the bytes of its packs.
fn alone(site: &Site, ds: &DatasetName, name: &str) -> u64 {
    let repo = site.env.tmp.path().join(format!("alone-{name}"));
    let cache = site.env.tmp.path().join(format!("alone-{name}-cache"));
    let run = |args: &[&str]| {
        let mut c = site.env.command(["--repo", repo.to_str().unwrap()]);
        c.args(args).env("BACKUP_CACHE_DIR", &cache);
        let out = c.output().unwrap();
        assert_ok(&out, &format!("{args:?} into {}", repo.display()));
    };
    run(&INIT);
    run(&["send", &snapshot(ds, T1).to_string()]);
    run(&["send", &snapshot(ds, T2).to_string()]);
    bytes_under(&repo.join("data"))
}

#[test]
fn two_hosts_ship_at_once_beside_a_prune_and_share_their_chunks() {
    let started = Instant::now();
    let site = Site::new();
    let (a_ds, b_ds) = (site.env.dataset("alpha"), site.env.dataset("beta"));
    let alpha = site.host("alpha", Some(&a_ds));
    let beta = site.host("beta", Some(&b_ds));
    let gamma = site.host("gamma", None);
    assert_ok(&site.run(&alpha, &INIT), "init");
    // The same 3 MiB file on both hosts (a common image, a shared tree),
    // and 1 MiB of each host's own.
    for (ds, seed) in [(&a_ds, 1), (&b_ds, 2)] {
        let m = site.env.mountpoint(ds);
        fs::create_dir(m.join("shared")).unwrap();
        fs::write(m.join("shared/common.img"), noise(3 << 20, 100)).unwrap();
        fs::write(m.join("own.bin"), noise(1 << 20, seed)).unwrap();
    }

    // Round 1: both ship at once (shared locks; each one's forget then
    // waits for the other's ship to end).
    wait_all(vec![
        (
            "alpha's first run".into(),
            site.spawn(&alpha, &["run", "alpha", "--now", T1]),
        ),
        (
            "beta's first run".into(),
            site.spawn(&beta, &["run", "beta", "--now", T1]),
        ),
    ]);
    let after_round_1 = site.pack_bytes();

    // Round 2: a little new data on each, both ship again, and gamma's
    // prune (exclusive) starts beside them and waits its turn.
    for (ds, seed) in [(&a_ds, 11), (&b_ds, 12)] {
        let m = site.env.mountpoint(ds);
        fs::write(m.join("new.bin"), noise(256 << 10, seed)).unwrap();
    }
    let outs = wait_all(vec![
        (
            "alpha's second run".into(),
            site.spawn(&alpha, &["run", "alpha", "--now", T2]),
        ),
        (
            "beta's second run".into(),
            site.spawn(&beta, &["run", "beta", "--now", T2]),
        ),
        ("gamma's prune".into(), site.spawn(&gamma, &["prune"])),
    ]);
    let prune_said = String::from_utf8_lossy(&outs[2].stdout).into_owned();
    let after_round_2 = site.pack_bytes();

    // Every host sees every snapshot, each with the host that shipped it.
    let out = site.run(&gamma, &["list", "--json"]);
    assert_ok(&out, "list from gamma");
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen: Vec<(String, String)> = list
        .iter()
        .map(|m| {
            (
                m["host"].as_str().unwrap().to_string(),
                m["snapshot"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let names: Vec<(&str, &str)> = seen.iter().map(|(h, s)| (h.as_str(), s.as_str())).collect();
    assert_eq!(
        names,
        [
            ("alpha", "job-20260101T000000Z"),
            ("alpha", "job-20260101T010000Z"),
            ("beta", "job-20260101T000000Z"),
            ("beta", "job-20260101T010000Z"),
        ],
        "{list:#?}"
    );

    // A prune now (nothing shipping) and the check, from the third host.
    let out = site.run(&gamma, &["prune"]);
    assert_ok(&out, "prune after the ships");
    let final_bytes = site.pack_bytes();
    let out = site.run(&gamma, &["check", "--read-data"]);
    assert_ok(&out, "check --read-data");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no errors"), "{text}");

    // Each host's latest snapshot (and with it the chain below) restores
    // identically, restored by the other host, both at once.
    let restore = |host: &Host, ds: &DatasetName, into: &str| {
        let id = list
            .iter()
            .filter(|m| m["dataset"] == ds.as_str())
            .max_by_key(|m| m["snapshot"].as_str().unwrap().to_string())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let target = site.env.pool.root().child(into).unwrap();
        let out = site.run(host, &["restore", &id, "--to", target.as_str()]);
        assert_ok(&out, &format!("restore of {ds} by {}", host.name));
        let clone = site
            .env
            .clone_of(&snapshot(ds, T2), &format!("{into}-source"));
        assert_same_tree(&site.env.mountpoint(&target), &clone);
    };
    std::thread::scope(|s| {
        let a = s.spawn(|| restore(&beta, &a_ds, "restored-alpha"));
        restore(&alpha, &b_ds, "restored-beta");
        a.join().unwrap();
    });

    // Deduplication across hosts: the shared repository against what each
    // host's two snapshots take in a repository of its own.
    let (a_alone, b_alone) = std::thread::scope(|s| {
        let a = s.spawn(|| alone(&site, &a_ds, "alpha"));
        let b = alone(&site, &b_ds, "beta");
        (a.join().unwrap(), b)
    });
    let sum = a_alone + b_alone;
    let saved = 100.0 * (1.0 - final_bytes as f64 / sum as f64);
    eprintln!(
        "cross-host deduplication: alpha alone {a_alone} B, beta alone {b_alone} B, \
         sum {sum} B; shared repository {after_round_1} B after the concurrent \
         first ships, {after_round_2} B after the second ships and the concurrent \
         prune, {final_bytes} B after a prune with nothing running: {saved:.1}% \
         saved ({:.1} s in all)\nthe concurrent prune said: {prune_said}",
        started.elapsed().as_secs_f64()
    );
    // The common 3 MiB are stored once: at least 2 MiB less than the sum.
    assert!(
        final_bytes + (2 << 20) < sum,
        "shared {final_bytes} B vs {sum} B for the hosts alone"
    );
}
