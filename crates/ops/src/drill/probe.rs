//! Layer 4: probes, user commands run against the restored data.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::Probe;

use super::report::{ProbeResult, Status};

/// Output kept per probe: its last bytes.
const OUTPUT_TAIL: u64 = 4096;

/// Runs `sh -c COMMAND` in `cwd` with `env` added, stdout and stderr into
/// one file in `work_dir`. A probe that outlives its timeout, or is still
/// running when `stop` is raised, is killed with its whole process group.
pub fn run_probe(
    probe: &Probe,
    dataset: &str,
    cwd: &Path,
    env: &[(&str, String)],
    work_dir: &Path,
    stop: &AtomicBool,
) -> ProbeResult {
    let started = Instant::now();
    let mut result = ProbeResult {
        name: probe.name.clone(),
        command: probe.command.clone(),
        dataset: dataset.to_string(),
        status: Status::Fail,
        exit_code: None,
        timed_out: false,
        seconds: 0.0,
        output: String::new(),
    };
    let out_path = work_dir.join(format!(
        "{}-probe-{}-{}.out",
        super::scratch::PREFIX,
        std::process::id(),
        &backup_core::Id::random().to_hex()[..8]
    ));
    let spawned = std::fs::File::create(&out_path)
        .and_then(|f| Ok((f.try_clone()?, f)))
        .and_then(|(out, err)| {
            Command::new("sh")
                .arg("-c")
                .arg(&probe.command)
                .current_dir(cwd)
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn()
        });
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&out_path);
            result.output = format!("cannot start sh in {}: {e}", cwd.display());
            return result;
        }
    };
    let limit = Duration::try_from(probe.timeout).unwrap_or(Duration::MAX);
    let status = loop {
        // The probe's sh is waited for without being reaped, so its pid (the
        // process group's id) cannot be reused while the group is killed.
        let exited = exited_unreaped(child.id());
        let overdue = started.elapsed() >= limit || stop.load(Ordering::Relaxed);
        if exited || overdue {
            result.timed_out = !exited && started.elapsed() >= limit;
            // Children the probe left behind go too.
            kill_group(child.id());
            let status = child.wait().ok();
            break if exited { status } else { None };
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    result.seconds = started.elapsed().as_secs_f64();
    result.output = tail(&out_path);
    let _ = std::fs::remove_file(&out_path);
    match status {
        Some(s) => {
            result.exit_code = s.code();
            result.status = if s.success() {
                Status::Pass
            } else {
                Status::Fail
            };
            if s.code().is_none() {
                result.output.push_str(&format!("\n[killed by {s}]"));
            }
        }
        None if result.timed_out => {
            result.output.push_str(&format!(
                "\n[killed after its timeout of {:#}]",
                probe.timeout
            ));
        }
        None => result
            .output
            .push_str("\n[killed: the drill was interrupted]"),
    }
    result
}

/// Whether process `pid` (our child) has exited, leaving it a zombie
/// (`waitid` with `WNOWAIT`); an error counts as exited.
#[allow(unsafe_code)]
fn exited_unreaped(pid: u32) -> bool {
    // SAFETY: waitid(2) on our own child with a zeroed siginfo to fill in.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &raw mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r != 0 || info.si_pid() != 0
    }
}

fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on the process group we created for this probe.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// The last [`OUTPUT_TAIL`] bytes of a file, lossy UTF-8.
fn tail(path: &Path) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let mut buf = Vec::new();
    let start = len.saturating_sub(OUTPUT_TAIL);
    if f.seek(SeekFrom::Start(start)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    let mut s = String::from_utf8_lossy(&buf).into_owned();
    if start > 0 {
        s.insert_str(0, "[...]\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(command: &str, timeout_ms: i64) -> Probe {
        Probe {
            name: "p".into(),
            command: command.into(),
            dataset: None,
            timeout: jiff::SignedDuration::from_millis(timeout_ms),
        }
    }

    #[test]
    fn pass_fail_timeout_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let env = [("BACKUP_DRILL_MOUNTPOINT", "/x".to_string())];
        let run = |c: &str, t| run_probe(&probe(c, t), "p/d", dir.path(), &env, dir.path(), &stop);

        let ok = run("echo hello; echo $BACKUP_DRILL_MOUNTPOINT >&2; pwd", 5000);
        assert_eq!(ok.status, Status::Pass);
        assert_eq!(ok.exit_code, Some(0));
        assert!(ok.output.contains("hello") && ok.output.contains("/x"));
        assert!(ok.output.contains(&dir.path().display().to_string()));

        let bad = run("echo broken; exit 3", 5000);
        assert_eq!((bad.status, bad.exit_code), (Status::Fail, Some(3)));

        let slow = run("sleep 30 & wait", 300);
        assert_eq!(slow.status, Status::Fail);
        assert!(slow.timed_out && slow.seconds < 5.0, "{slow:?}");

        let long = run("head -c 100000 /dev/zero | tr '\\0' a", 5000);
        assert!(long.output.len() < 4200 && long.output.starts_with("[...]"));
        // Nothing left in the work directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
