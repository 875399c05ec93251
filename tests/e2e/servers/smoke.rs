//! The servers themselves work: plain OpenSSH clients and restic against
//! [`Sshd`], restic against [`Garage`], and data surviving a restart.
//!
//! restic (Debian's 0.14) is what the benchmarks compare with; the exact
//! invocations, with `PASS` a password file and `CFG` = `Sshd::ssh_config()`:
//!
//! ```text
//! # SFTP: restic's "sftp:HOST:/PATH"; the connection is made by the
//! # command, so the host in the location is only a label.
//! restic -r sftp:root@127.0.0.1:/ABS/PATH \
//!        -o sftp.command="ssh -F CFG 127.0.0.1 -s sftp" \
//!        --password-file PASS --no-cache init|backup DIR|restore latest --target D
//! # S3: path-style "s3:ENDPOINT/BUCKET/PREFIX", credentials and region from
//! # the environment (Garage::with_env sets them).
//! AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. AWS_REGION=garage \
//! restic -r s3:http://127.0.0.1:PORT/BUCKET/PREFIX \
//!        --password-file PASS --no-cache init|backup DIR|...
//! ```

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{proc_stat, Garage, Sshd};
use crate::harness::{assert_ok, stderr};

/// `restic ARGS` with a password file in `work` and no cache.
fn restic(work: &Path, args: &[&str], setup: impl FnOnce(&mut Command)) -> Output {
    let pass = work.join("restic-pass");
    if !pass.exists() {
        fs::write(&pass, "restic smoke\n").unwrap();
    }
    let mut cmd = Command::new("restic");
    cmd.arg("--password-file")
        .arg(&pass)
        .args(["--no-cache", "--quiet"])
        .args(args)
        .stdin(Stdio::null());
    setup(&mut cmd);
    cmd.output().expect("run restic (install Debian's restic)")
}

/// A small tree to back up, and an empty directory to restore into.
fn sample(work: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let src = work.join("src");
    fs::create_dir_all(src.join("sub dir")).unwrap();
    fs::write(src.join("a.txt"), "hello from the smoke test\n").unwrap();
    fs::write(src.join("sub dir/b.bin"), vec![7u8; 300_000]).unwrap();
    (src, work.join("restored"))
}

/// Backs `src` up with `setup`'s repository, restores it and compares.
fn restic_round_trip(work: &Path, setup: impl Fn(&mut Command)) {
    let (src, restored) = sample(work);
    let out = restic(work, &["init"], &setup);
    assert_ok(&out, "restic init");
    let out = restic(work, &["backup", src.to_str().unwrap()], &setup);
    assert_ok(&out, "restic backup");
    let out = restic(
        work,
        &["restore", "latest", "--target", restored.to_str().unwrap()],
        &setup,
    );
    assert_ok(&out, "restic restore");
    // restic restores the absolute path under the target.
    let back = restored.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        fs::read(back.join("sub dir/b.bin")).unwrap(),
        fs::read(src.join("sub dir/b.bin")).unwrap()
    );
    let out = restic(work, &["check", "--read-data"], &setup);
    assert_ok(&out, "restic check");
}

fn ssh(sshd: &Sshd) -> Command {
    let mut c = Command::new("ssh");
    c.arg("-F").arg(sshd.ssh_config()).stdin(Stdio::null());
    c
}

fn sftp_batch(sshd: &Sshd, work: &Path, batch: &str) -> Output {
    let file = work.join("batch");
    fs::write(&file, batch).unwrap();
    Command::new("sftp")
        .arg("-F")
        .arg(sshd.ssh_config())
        .arg("-P")
        .arg(sshd.port().to_string())
        .arg("-b")
        .arg(&file)
        .arg(format!("{}@127.0.0.1", sshd.user()))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn sshd_sftp_put_and_get() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fs::write(w.join("up"), "up and down\n").unwrap();
    let remote = sshd.root_dir().join("up.txt");
    let out = sftp_batch(
        &sshd,
        w,
        &format!(
            "put {up} {remote}\nget {remote} {down}\nput {up} relative.txt\n",
            up = w.join("up").display(),
            remote = remote.display(),
            down = w.join("down").display()
        ),
    );
    assert_ok(&out, "sftp -b");
    assert_eq!(fs::read_to_string(&remote).unwrap(), "up and down\n");
    assert_eq!(fs::read_to_string(w.join("down")).unwrap(), "up and down\n");
    // SFTP sessions start in root_dir().
    assert!(sshd.root_dir().join("relative.txt").is_file());
}

#[test]
fn sshd_refuses_an_unknown_host_key() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("known_hosts");
    fs::write(&empty, "").unwrap();
    // The command line's -o wins over the config file.
    let out = ssh(&sshd)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", empty.display()))
        .args(["127.0.0.1", "true"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Host key verification failed"),
        "{}",
        stderr(&out)
    );
    // The key the client does trust is the one the server presents.
    let scan = Command::new("ssh-keyscan")
        .args(["-t", "ed25519", "-p", &sshd.port().to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    assert_ok(&scan, "ssh-keyscan");
    fs::write(work.path().join("scanned"), &scan.stdout).unwrap();
    let fp = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(work.path().join("scanned"))
        .output()
        .unwrap();
    assert_ok(&fp, "ssh-keygen -lf");
    assert!(
        String::from_utf8_lossy(&fp.stdout).contains(&sshd.host_key_fingerprint()),
        "{} vs {}",
        String::from_utf8_lossy(&fp.stdout),
        sshd.host_key_fingerprint()
    );
    let trusted = fs::read_to_string(sshd.known_hosts()).unwrap();
    assert!(trusted.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port())));
    assert!(sshd.identity_file().is_file());
}

#[test]
fn sshd_stop_cuts_sessions_and_restart_keeps_port_keys_and_files() {
    let mut sshd = Sshd::start();
    let port = sshd.port();
    fs::write(sshd.root_dir().join("kept"), "kept\n").unwrap();
    // A session that would outlive the listener if stop() killed only it.
    let pid_file = sshd.root_dir().join("session.pid");
    let mut session = ssh(&sshd)
        .arg("127.0.0.1")
        .arg(format!("echo $$ > {}; exec sleep 600", pid_file.display()))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n')) {
        assert!(Instant::now() < deadline, "the ssh session never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let remote_pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Alive: not gone and not a zombie (orphans wait for pid 1 to reap them).
    let alive = |pid| proc_stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X'));
    assert!(alive(remote_pid));

    sshd.stop();
    let status = session.wait().unwrap();
    assert!(!status.success(), "the session survived stop()");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(remote_pid) {
        assert!(
            Instant::now() < deadline,
            "the session's command survived stop()"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = ssh(&sshd).args(["127.0.0.1", "true"]).output().unwrap();
    assert!(!out.status.success(), "ssh to a stopped sshd succeeded");

    sshd.restart();
    assert_eq!(sshd.port(), port);
    let out = ssh(&sshd)
        .arg("127.0.0.1")
        .arg(format!("cat {}", sshd.root_dir().join("kept").display()))
        .output()
        .unwrap();
    assert_ok(&out, "ssh after restart");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "kept\n");
    assert!(fs::read_to_string(sshd.log())
        .unwrap()
        .contains("Received signal 15"));
}

#[test]
fn restic_over_sftp() {
    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let repo = format!(
        "sftp:root@127.0.0.1:{}",
        sshd.root_dir().join("restic").display()
    );
    let command = format!(
        "sftp.command=ssh -F {} 127.0.0.1 -s sftp",
        sshd.ssh_config().display()
    );
    restic_round_trip(work.path(), |c| {
        c.args(["-r", &repo, "-o", &command]);
    });
    assert!(sshd.root_dir().join("restic/config").is_file());
    // The same place, named by the harness's URL (restic reads the path
    // after the first slash, so an absolute path needs the double slash).
    let url = sshd.url(sshd.root_dir().join("restic"));
    assert!(url.starts_with(&format!("sftp://root@127.0.0.1:{}//", sshd.port())));
    let out = restic(work.path(), &["snapshots"], |c| {
        c.args(["-r", &url, "-o", &command]);
    });
    assert_ok(&out, "restic snapshots by sftp:// URL");
}

#[test]
fn restic_over_s3() {
    let garage = Garage::start();
    let work = tempfile::tempdir().unwrap();
    let repo = format!("s3:{}/{}/restic-smoke", garage.endpoint(), garage.bucket());
    restic_round_trip(work.path(), |c| {
        c.args(["-r", &repo]);
        garage.with_env(c);
    });
    assert_eq!(
        garage.url("restic-smoke"),
        format!("s3://{}/restic-smoke", garage.bucket())
    );
    assert_eq!(garage.region(), "garage");
    assert!(garage.access_key_id().starts_with("GK"));
    assert_eq!(garage.secret_access_key().len(), 64);
}

#[test]
fn garage_restart_keeps_ports_keys_and_objects() {
    let mut garage = Garage::start();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let repo = format!("s3:{}/{}/kept", garage.endpoint(), garage.bucket());
    let endpoint = garage.endpoint();
    let (src, _) = sample(w);
    let setup = |c: &mut Command, g: &Garage| {
        c.args(["-r", &repo]);
        g.with_env(c);
    };
    assert_ok(&restic(w, &["init"], |c| setup(c, &garage)), "restic init");
    assert_ok(
        &restic(w, &["backup", src.to_str().unwrap()], |c| setup(c, &garage)),
        "restic backup",
    );

    garage.stop();
    // (Not restic: it retries a dead endpoint for minutes.)
    let addr = endpoint.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "{addr} still accepts connections after stop()"
    );

    garage.restart();
    assert_eq!(garage.endpoint(), endpoint);
    let out = restic(w, &["check", "--read-data"], |c| setup(c, &garage));
    assert_ok(&out, "restic check after restart");
}
