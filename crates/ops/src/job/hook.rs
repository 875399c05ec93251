//! Pre and post hooks (and notifiers): `sh -c COMMAND` with a timeout,
//! its output captured line by line and handed to a [`CommandOutput`]
//! (the library never prints; the CLI labels each line, or drops it with
//! `-q`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::Hook;
use crate::error::{Error, Result};

/// Receives what the commands of a job (hooks, notifiers) write, one line
/// at a time, from the thread that runs the job.
pub trait CommandOutput {
    /// `text` (without its newline, invalid UTF-8 replaced) was written by
    /// the command `source` of job `job` (`pre_hook`, `post_hook`,
    /// `on_failure`, ...) on its stderr if `stderr`, else on its stdout.
    fn line(&self, job: &str, source: &str, stderr: bool, text: &str);
}

/// Drops every line.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardOutput;

impl CommandOutput for DiscardOutput {
    fn line(&self, _job: &str, _source: &str, _stderr: bool, _text: &str) {}
}

/// How long the output of a command that has exited is still read: a
/// background child that keeps the pipes open must not hold the job.
const DRAIN_GRACE: Duration = Duration::from_secs(1);
/// Lines of stderr kept for the error message of a failed command.
const STDERR_TAIL_LINES: usize = 3;
/// Characters kept of each such line.
const STDERR_TAIL_CHARS: usize = 300;

/// Runs a hook; `source` names it (`pre_hook`, `post_hook`) in the lines
/// given to `output` and `which` (`pre`, `post`) in the error. `env` is
/// added to its environment. Killed when it outlives its timeout.
pub fn run_hook(
    job: &str,
    which: &'static str,
    hook: &Hook,
    env: &[(&str, &str)],
    output: &dyn CommandOutput,
) -> Result<()> {
    let source = match which {
        "pre" => "pre_hook",
        "post" => "post_hook",
        other => other,
    };
    run_sh(&hook.command, env, hook.timeout, &|stderr, text| {
        output.line(job, source, stderr, text);
    })
    .map_err(|reason| Error::Hook {
        job: job.to_string(),
        which,
        command: hook.command.clone(),
        reason,
    })
}

/// `sh -c command` with `env` added, stdin closed, each line of its stdout
/// and stderr given to `line` (`true` for stderr), killed after `timeout`.
/// `Err` says why it failed: it could not start, exited non-zero (with the
/// last lines of its stderr), or outlived its timeout.
pub(crate) fn run_sh(
    command: &str,
    env: &[(&str, &str)],
    timeout: jiff::SignedDuration,
    line: &dyn Fn(bool, &str),
) -> std::result::Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let (tx, rx) = mpsc::channel::<Option<(bool, String)>>();
    let readers = [
        child.stdout.take().map(|r| reader(r, false, tx.clone())),
        child.stderr.take().map(|r| reader(r, true, tx.clone())),
    ];
    drop(tx);
    let mut open = readers.iter().flatten().count();
    let limit = Duration::try_from(timeout).unwrap_or(Duration::MAX);
    let started = Instant::now();
    let mut tail: Vec<String> = Vec::new();
    let mut take = |msg: Option<(bool, String)>, open: &mut usize| match msg {
        Some((stderr, text)) => {
            if stderr {
                tail.push(text.chars().take(STDERR_TAIL_CHARS).collect());
                if tail.len() > STDERR_TAIL_LINES {
                    tail.remove(0);
                }
            }
            line(stderr, &text);
        }
        None => *open -= 1,
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it was killed after its timeout of {timeout:#}"));
            }
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for it failed: {e}")),
        }
        if let Ok(msg) = rx.recv_timeout(Duration::from_millis(50)) {
            take(msg, &mut open);
        }
    };
    let exited = Instant::now();
    while open > 0 {
        let left = DRAIN_GRACE.saturating_sub(exited.elapsed());
        match rx.recv_timeout(left) {
            Ok(msg) => take(msg, &mut open),
            // A child of the command still holds the pipe: leave its
            // reader behind.
            Err(_) => break,
        }
    }
    if status.success() {
        return Ok(());
    }
    match tail.is_empty() {
        true => Err(format!("it exited with {status}")),
        false => Err(format!("it exited with {status}: {}", tail.join(" / "))),
    }
}

/// A thread sending each line of `r`, then `None` at its end.
fn reader(
    r: impl Read + Send + 'static,
    stderr: bool,
    tx: mpsc::Sender<Option<(bool, String)>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(Some((stderr, text))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(None);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use std::cell::RefCell;

    fn hook(cmd: &str, ms: i64) -> Hook {
        Hook {
            command: cmd.into(),
            timeout: SignedDuration::from_millis(ms),
        }
    }

    /// Collects (job, source, stderr, text).
    #[derive(Default)]
    struct Lines(RefCell<Vec<(String, String, bool, String)>>);

    impl CommandOutput for Lines {
        fn line(&self, job: &str, source: &str, stderr: bool, text: &str) {
            self.0
                .borrow_mut()
                .push((job.into(), source.into(), stderr, text.into()));
        }
    }

    #[test]
    fn success_failure_timeout_and_env() {
        let out = DiscardOutput;
        assert!(run_hook(
            "j",
            "pre",
            &hook("test \"$BACKUP_JOB\" = j", 5000),
            &[("BACKUP_JOB", "j")],
            &out,
        )
        .is_ok());
        let e = run_hook("j", "pre", &hook("exit 3", 5000), &[], &out).unwrap_err();
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        let t = Instant::now();
        let e = run_hook("j", "post", &hook("sleep 5", 200), &[], &out).unwrap_err();
        assert!(e.to_string().contains("timeout"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    /// Regression (issue 17): hook output was printed raw by the child
    /// itself, unlabelled, even with `-q`. Every line goes to the sink,
    /// labelled with the job and the hook; nothing reaches our own
    /// stdout or stderr; a failure names the last lines of stderr.
    #[test]
    fn output_goes_to_the_sink_line_by_line_labelled() {
        let lines = Lines::default();
        let e = run_hook(
            "web",
            "pre",
            &hook("echo one; echo two >&2; printf 'no newline'; exit 4", 5000),
            &[],
            &lines,
        )
        .unwrap_err();
        assert!(e.to_string().contains("exit status: 4: two"), "{e}");
        let mut got = lines.0.into_inner();
        got.sort();
        let l = |stderr: bool, t: &str| ("web".into(), "pre_hook".into(), stderr, t.to_string());
        assert_eq!(
            got,
            [l(false, "no newline"), l(false, "one"), l(true, "two")]
        );
    }

    /// A background child holding the pipes does not hold the job.
    #[test]
    fn a_lingering_child_does_not_hold_the_hook() {
        let t = Instant::now();
        run_hook(
            "j",
            "post",
            &hook("sleep 5 & echo started", 5000),
            &[],
            &DiscardOutput,
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}
