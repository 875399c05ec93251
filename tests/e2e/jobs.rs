//! `backup run JOB`: hooks, one atomic snapshot, recursive sets with
//! excludes, full_every, source retention, and the per-job lock.

use std::fs;

use crate::harness::{assert_ok, noise, stderr, Env};

struct JobEnv {
    env: Env,
    config: std::path::PathBuf,
    state: std::path::PathBuf,
}

fn job_env(extra: &str) -> JobEnv {
    let env = Env::new();
    let root = env.pool.root();
    for d in ["www", "vm", "vm/disk1", "vm/scratch"] {
        env.dataset(d);
    }
    fs::write(
        env.mountpoint(&root.child("www").unwrap())
            .join("index.html"),
        "hello",
    )
    .unwrap();
    fs::write(
        env.mountpoint(&root.child("vm/disk1").unwrap()).join("img"),
        noise(1 << 20, 1),
    )
    .unwrap();
    let state = env.tmp.path().join("state");
    let config = env.tmp.path().join("backup.toml");
    let text = format!(
        "state_dir = {state:?}\n\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"{root}/www\", \"{root}/vm\"]\nrecursive = true\n\
         exclude = [\"{root}/vm/scratch\"]\nprefix = \"job\"\nfull_every = 2\nkeep_source = {{ keep_last = 2 }}\n{extra}",
        env.repo,
        env.tmp.path().join("pass"),
    );
    fs::write(&config, text).unwrap();
    JobEnv { env, config, state }
}

impl JobEnv {
    fn run(&self, now: &str) -> std::process::Output {
        self.env
            .command([
                "run",
                "web",
                "--config",
                self.config.to_str().unwrap(),
                "--now",
                now,
            ])
            .env_remove("BACKUP_PASSWORD_FILE")
            .output()
            .unwrap()
    }
}

#[test]
fn runs_ship_the_recursive_set_with_full_every_and_source_retention() {
    let j = job_env("");
    let root = j.env.pool.root();
    let www = root.child("www").unwrap();
    j.env.snapshot(&www, "manual");
    for (i, now) in [
        "2026-11-02T10:00:00Z",
        "2026-11-02T11:00:00Z",
        "2026-11-02T12:00:00Z",
        "2026-11-02T13:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let out = j.run(now);
        assert_ok(&out, &format!("run {i}"));
    }
    let list = j.env.list();
    let kinds = |ds: &str| -> Vec<String> {
        list.iter()
            .filter(|e| e["dataset"] == format!("{root}/{ds}"))
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    // full_every = 2: a full after two incrementals.
    assert_eq!(kinds("www"), ["full", "incremental", "incremental", "full"]);
    assert_eq!(
        kinds("vm/disk1"),
        ["full", "incremental", "incremental", "full"]
    );
    assert_eq!(kinds("vm").len(), 4);
    assert!(
        kinds("vm/scratch").is_empty(),
        "an excluded dataset was shipped"
    );
    // keep_last = 2 on the source; the hand-made snapshot is never touched.
    let left: Vec<String> = j
        .env
        .pool
        .zfs()
        .list_snapshots(&www)
        .unwrap()
        .iter()
        .map(|s| s.name.snap().to_string())
        .collect();
    assert_eq!(
        left,
        ["manual", "job-20261102T120000Z", "job-20261102T130000Z"]
    );
    // The scratch dataset got the atomic recursive snapshot but keeps it.
    let scratch = j
        .env
        .pool
        .zfs()
        .list_snapshots(&root.child("vm/scratch").unwrap())
        .unwrap();
    assert!(!scratch.is_empty());
}

#[test]
fn a_second_run_of_the_same_job_exits_with_the_documented_code() {
    let j = job_env("");
    // The refused run is told to the job's notifiers.
    let notified = j.env.tmp.path().join("notified.env");
    let mut text = fs::read_to_string(&j.config).unwrap();
    text.push_str(&format!(
        "\n[notify]\non_failure = {{ command = \"env > '{}'\" }}\n",
        notified.display()
    ));
    fs::write(&j.config, text).unwrap();
    let lock = j.state.join("locks/job-web.lock");
    fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .unwrap();
    f.try_lock().unwrap();
    fs::write(&lock, "4242").unwrap();
    let out = j.run("2026-11-02T10:00:00Z");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("job web is already running (pid 4242)"),
        "{}",
        stderr(&out)
    );
    let env = fs::read_to_string(&notified).unwrap();
    for line in [
        "BACKUP_JOB=web",
        "BACKUP_EVENT=run",
        "BACKUP_OUTCOME=failure",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} not in {env}");
    }
    assert!(
        env.lines()
            .any(|l| l.starts_with("BACKUP_ERROR=") && l.contains("already running (pid 4242)")),
        "{env}"
    );
    drop(f);
    assert_ok(
        &j.run("2026-11-02T10:00:00Z"),
        "run after the lock is released",
    );
}

#[test]
fn a_failing_pre_hook_takes_no_snapshot() {
    let j = job_env(
        "pre_hook = { command = \"echo checkpoint failed >&2; exit 7\", timeout = \"10s\" }\n",
    );
    let out = j.run("2026-11-02T10:00:00Z");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pre hook of job web failed: it exited with exit status: 7"),
        "{}",
        stderr(&out)
    );
    // Regression (issue 17): hook output was printed raw, unlabelled,
    // even with -q. It is labelled with the job and the hook ...
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l == "web pre_hook: checkpoint failed"),
        "{}",
        stderr(&out)
    );
    // ... and -q silences it; the error still says why. With stderr the
    // journal (JOURNAL_STREAM names it), the error line is priority <3>.
    let log = j.env.tmp.path().join("journal.log");
    let file = fs::File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    let stream = {
        use std::os::unix::fs::MetadataExt;
        format!("{}:{}", meta.dev(), meta.ino())
    };
    let status = j
        .env
        .command(["run", "web", "-q", "--config", j.config.to_str().unwrap()])
        .args(["--now", "2026-11-02T10:00:00Z"])
        .env_remove("BACKUP_PASSWORD_FILE")
        .env("JOURNAL_STREAM", &stream)
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let text = fs::read_to_string(&log).unwrap();
    assert!(!text.contains("pre_hook:"), "{text}");
    assert!(!text.lines().any(|l| l == "checkpoint failed"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("<3>") && l.contains("exit status: 7: checkpoint failed")),
        "{text}"
    );
    let www = j.env.pool.root().child("www").unwrap();
    assert!(j.env.pool.zfs().list_snapshots(&www).unwrap().is_empty());
    assert!(j.env.list().is_empty());
}

/// Regression: `BACKUP_PASSWORD` was inherited by hooks and by `zfs send`.
/// No child sees any passphrase variable.
#[test]
fn hooks_and_zfs_do_not_inherit_the_passphrase_variables() {
    let dir = tempfile::Builder::new()
        .prefix(&format!("backup-e2e-{}-env-", std::process::id()))
        .tempdir()
        .unwrap();
    let (pre, post) = (dir.path().join("pre.env"), dir.path().join("post.env"));
    let mut j = job_env(&format!(
        "pre_hook = {{ command = \"env > '{}'\", timeout = \"10s\" }}\n\
         post_hook = {{ command = \"env > '{}'\", timeout = \"10s\" }}\n",
        pre.display(),
        post.display()
    ));
    // A `zfs` first on PATH that records its environment, then runs the real one.
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let zfs_env = dir.path().join("zfs.env");
    fs::write(
        bin.join("zfs"),
        format!(
            "#!/bin/sh\nenv >> '{}'\nPATH=${{PATH#*:}} exec zfs \"$@\"\n",
            zfs_env.display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        bin.join("zfs"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    j.env.extra_path = Some(bin);
    let out = j
        .env
        .command([
            "run",
            "web",
            "--config",
            j.config.to_str().unwrap(),
            "--now",
            "2026-11-02T10:00:00Z",
        ])
        .env_remove("BACKUP_PASSWORD_FILE")
        .env("BACKUP_PASSWORD", "correct horse battery staple")
        .output()
        .unwrap();
    assert_ok(&out, "run with BACKUP_PASSWORD");
    for (what, file) in [("pre hook", &pre), ("post hook", &post), ("zfs", &zfs_env)] {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            text.contains("PATH="),
            "{what} wrote no environment: {text}"
        );
        assert!(!text.contains("BACKUP_PASSWORD"), "{what} saw: {text}");
        assert!(!text.contains("battery staple"), "{what} saw: {text}");
    }
    assert!(fs::read_to_string(&pre).unwrap().contains("BACKUP_JOB=web"));
    assert!(fs::read_to_string(&zfs_env).unwrap().lines().count() > 1);
}

/// Regressions (issue 17): two snapshots within one second failed with
/// "snapshot already exists" (here two runs at the same `--now`; `send`
/// names its snapshots the same way), and `list --dataset X` divided X's
/// streams by the whole repository's packs (0.02x next to a bigger
/// dataset) instead of the chunks X's snapshots reference.
#[test]
fn two_runs_in_one_second_and_the_ratio_of_one_dataset() {
    let env = Env::new();
    let www = env.dataset("www");
    fs::write(env.mountpoint(&www).join("index.html"), noise(64 << 10, 2)).unwrap();
    let big = env.dataset("big");
    fs::write(env.mountpoint(&big).join("img"), noise(2 << 20, 3)).unwrap();
    let config = env.job_config("web", &www, "");
    let run = || {
        env.command(["run", "web", "--config", config.to_str().unwrap()])
            .args(["--now", "2026-11-02T10:00:00Z"])
            .env_remove("BACKUP_PASSWORD_FILE")
            .output()
            .unwrap()
    };
    assert_ok(&run(), "first run");
    assert_ok(&run(), "second run in the same second");
    let names: Vec<String> = env
        .pool
        .zfs()
        .list_snapshots(&www)
        .unwrap()
        .iter()
        .map(|s| s.name.snap().to_string())
        .collect();
    assert_eq!(names, ["job-20261102T100000Z", "job-20261102T100000Z.01"]);
    assert_ok(&env.backup(["send", big.as_str()]), "send big");

    let out = env.backup(["list", "--dataset", www.as_str()]);
    assert_ok(&out, "list --dataset");
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap();
    assert!(last.contains("of their chunks"), "{text}");
    let ratio: f64 = last
        .rsplit_once("compression ")
        .and_then(|(_, r)| r.strip_suffix("x)"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in {last:?}"));
    // Two snapshots of the same 64 KiB of noise: about 2x, never the
    // 0.05x of 128 KiB over the packs of 2 MiB more.
    assert!((1.0..3.0).contains(&ratio), "{text}");
}

/// Notifications (issue 17) through the real `backup run`: a succeeding
/// job pings its Healthchecks URL at start and on success, a failing one
/// pings `/fail` with the error and runs the global `on_failure` with the
/// outcome in its environment; a failing notifier (the `on_success` here)
/// is a warning and the exit code stays the job's. The HTTP server is a
/// loopback listener on a thread of this test.
#[test]
fn notifications_of_a_succeeding_and_a_failing_job() {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let (mut line, mut len) = (String::new(), 0);
            r.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            // Recorded before the answer, so the run has seen it when it ends.
            let body = String::from_utf8_lossy(&body);
            let _ = tx.send(format!("{} {body}", line.trim()));
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK");
        }
    });
    let env = Env::new();
    let www = env.dataset("www");
    let outcome = env.tmp.path().join("outcome.env");
    let extra = format!(
        "notify = {{ healthcheck_url = \"{url}/ping/ok\", \
         on_success = {{ command = \"echo not today >&2; exit 9\" }} }}\n\n\
         [jobs.bad]\nrepository = \"nas\"\ndatasets = [\"{www}\"]\n\
         pre_hook = {{ command = \"exit 7\" }}\n\
         notify = {{ healthcheck_url = \"{url}/ping/bad\" }}\n\n\
         [notify]\non_failure = {{ command = \"env > '{}'\", timeout = \"10s\" }}\n",
        outcome.display()
    );
    let config = env.job_config("ok", &www, &extra);
    let run = |job: &str| {
        env.command(["run", job, "--config", config.to_str().unwrap()])
            .args(["--now", "2026-11-02T10:00:00Z"])
            .env_remove("BACKUP_PASSWORD_FILE")
            .output()
            .unwrap()
    };
    let ok = run("ok");
    assert_ok(&ok, "run ok");
    let err = stderr(&ok);
    assert!(
        err.contains("on_success of job ok failed: it exited with exit status: 9: not today"),
        "{err}"
    );
    assert!(err.contains("ok on_success: not today"), "{err}");
    let bad = run("bad");
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    let seen: Vec<String> = rx.try_iter().collect();
    assert_eq!(
        seen.len(),
        4,
        "{seen:?}\nrun ok: {err}\nrun bad: {}",
        stderr(&bad)
    );
    assert!(seen[0].starts_with("POST /ping/ok/start "), "{seen:?}");
    assert!(
        seen[1]
            .starts_with("POST /ping/ok HTTP/1.1 backup run ok: ok, snapshot job-20261102T100000Z"),
        "{seen:?}"
    );
    assert!(seen[2].starts_with("POST /ping/bad/start "), "{seen:?}");
    assert!(
        seen[3].starts_with(
            "POST /ping/bad/fail HTTP/1.1 backup run bad failed: pre hook of job bad failed"
        ),
        "{seen:?}"
    );
    let text = fs::read_to_string(&outcome).unwrap();
    for line in [
        "BACKUP_JOB=bad",
        "BACKUP_OUTCOME=failure",
        "BACKUP_REPOSITORY=nas",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in {text}");
    }
    assert!(
        text.contains("BACKUP_ERROR=pre hook of job bad failed"),
        "{text}"
    );
}
