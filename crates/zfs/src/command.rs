//! The one wrapper that runs every `zfs`/`zpool` command.
//!
//! Short commands run to completion with [`run`], within a time limit;
//! streaming ones (`send`, `receive`) get their stderr drained on its own
//! thread by [`StderrDrain`] (ripgrep's `CommandReader` is the model), so a
//! chatty child never blocks on a full stderr pipe while we read its stdout
//! or feed its stdin.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::ZfsError;

/// How much stderr is kept (zrepl caps its capture at 32 KiB too).
pub(crate) const STDERR_CAP: usize = 32 * 1024;

/// A command ready to run: the program, its arguments and the line to show
/// in messages.
#[derive(Debug, Clone)]
pub(crate) struct CommandLine {
    program: std::path::PathBuf,
    args: Vec<String>,
    display: String,
}

impl CommandLine {
    pub(crate) fn new<I, S>(program: &Path, args: I) -> CommandLine
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let mut display = quote(&program.to_string_lossy());
        for arg in &args {
            display.push(' ');
            display.push_str(&quote(arg));
        }
        CommandLine {
            program: program.to_owned(),
            args,
            display,
        }
    }

    /// The command line as a shell would need it, for messages.
    pub(crate) fn display(&self) -> &str {
        &self.display
    }

    /// A `Command` with the C locale, so messages are the untranslated ones
    /// the classifier knows.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.args.iter().map(OsStr::new))
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }

    /// Spawns a streaming child (`send`, `receive`) with stdin and stdout as
    /// given and stderr drained on its own thread, so a full stderr pipe
    /// never blocks it.
    pub(crate) fn spawn_streaming(
        &self,
        stdin: Stdio,
        stdout: Stdio,
    ) -> Result<(Child, StderrDrain), ZfsError> {
        let mut child = self
            .command()
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error(e))?;
        let stderr = child.stderr.take().expect("stderr was piped");
        match StderrDrain::spawn(stderr) {
            Ok(drain) => Ok((child, drain)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(self.spawn_error(e))
            }
        }
    }

    pub(crate) fn spawn_error(&self, source: std::io::Error) -> ZfsError {
        ZfsError::Spawn {
            command: self.display.clone(),
            source,
        }
    }

    pub(crate) fn io_error(&self, source: std::io::Error) -> ZfsError {
        ZfsError::Io {
            command: self.display.clone(),
            source,
        }
    }
}

/// Quotes `s` for a POSIX shell if it needs it.
pub(crate) fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@=,+%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The result of a command run to completion.
#[derive(Debug)]
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// How long a killed command is given to die before it is left behind.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Runs `line` to completion, capturing stdout and (capped) stderr. A
/// command still running after `limit` is killed (SIGKILL) and reported as
/// [`ZfsError::Timeout`] about `object`; one that does not even die then
/// (stuck in the kernel) is left behind, never waited for.
pub(crate) fn run(line: &CommandLine, object: &str, limit: Duration) -> Result<Output, ZfsError> {
    let deadline = Instant::now() + limit;
    let mut child = line
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| line.spawn_error(e))?;
    let mut stdout = child.stdout.take().expect("stdout was piped");
    let mut stderr = match StderrDrain::spawn(child.stderr.take().expect("stderr was piped")) {
        Ok(drain) => drain,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(line.spawn_error(e));
        }
    };
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::Builder::new()
        .name("zfs-stdout".into())
        .spawn(move || {
            let mut buf = Vec::new();
            let read = stdout.read_to_end(&mut buf).map(|_| buf);
            let _ = tx.send(read);
        });
    if let Err(e) = reader {
        let _ = child.kill();
        let _ = child.wait();
        return Err(line.spawn_error(e));
    }
    let timed_out = |child: &mut Child, stderr: &mut StderrDrain| {
        let died = kill_and_reap(child).is_some();
        ZfsError::Timeout {
            command: line.display().to_owned(),
            object: object.to_owned(),
            limit,
            stderr: if died {
                stderr.join_until(Instant::now() + KILL_GRACE)
            } else {
                String::new()
            },
        }
    };
    let Ok(stdout) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
        return Err(timed_out(&mut child, &mut stderr));
    };
    // stdout closed: the child is exiting, or closed it and hangs on.
    let Some(status) = wait_until(&mut child, deadline).map_err(|e| line.io_error(e))? else {
        return Err(timed_out(&mut child, &mut stderr));
    };
    let stdout = stdout.map_err(|e| line.io_error(e))?;
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: stderr.join_until(deadline),
    })
}

/// Kills `child` and reaps it if it dies within a few seconds; one stuck
/// in the kernel is left behind (`None`).
pub(crate) fn kill_and_reap(child: &mut Child) -> Option<ExitStatus> {
    let _ = child.kill();
    wait_until(child, Instant::now() + KILL_GRACE)
        .ok()
        .flatten()
}

/// Waits for `child` until `deadline`; `None` if it is still running then.
pub(crate) fn wait_until(
    child: &mut Child,
    deadline: Instant,
) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// `kept` is the head of `total` bytes of stderr.
fn render_capped(kept: &[u8], total: usize) -> String {
    let mut s = String::from_utf8_lossy(kept).into_owned();
    if total > kept.len() {
        s.push_str(&format!(
            "\n[stderr truncated: {total} bytes, first {} kept]",
            kept.len()
        ));
    }
    s
}

/// Drains a child's stderr on its own thread, keeping the first 32 KiB.
#[derive(Debug)]
pub(crate) struct StderrDrain {
    handle: Option<JoinHandle<String>>,
}

impl StderrDrain {
    pub(crate) fn spawn(mut stderr: ChildStderr) -> std::io::Result<StderrDrain> {
        let handle = std::thread::Builder::new()
            .name("zfs-stderr".into())
            .spawn(move || {
                let mut kept = Vec::new();
                let mut total = 0usize;
                let mut buf = [0u8; 8192];
                loop {
                    match stderr.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            total += n;
                            let room = STDERR_CAP.saturating_sub(kept.len());
                            kept.extend_from_slice(&buf[..n.min(room)]);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                render_capped(&kept, total)
            })?;
        Ok(StderrDrain {
            handle: Some(handle),
        })
    }

    /// Waits for the child to close stderr and returns what was kept.
    pub(crate) fn join(&mut self) -> String {
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_default(),
            None => String::new(),
        }
    }

    /// [`join`](Self::join), but gives up at `deadline` (something else
    /// still holds the pipe open) and returns what is known: nothing.
    pub(crate) fn join_until(&mut self, deadline: Instant) -> String {
        let mut pause = Duration::from_millis(1);
        while self.handle.as_ref().is_some_and(|h| !h.is_finished()) {
            if Instant::now() >= deadline {
                return String::new();
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        self.join()
    }
}

/// A human rendering of an exit status, e.g. `exit status: 1`.
pub(crate) fn status_text(status: ExitStatus) -> String {
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn run_captures_status_stdout_and_stderr() {
        let line = CommandLine::new(Path::new("sh"), ["-c", "echo out; echo err >&2; exit 3"]);
        let out = run(&line, "x", LIMIT).unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn a_command_past_its_limit_is_killed_and_named() {
        let line = CommandLine::new(Path::new("sh"), ["-c", "echo started >&2; exec sleep 600"]);
        let started = Instant::now();
        let err = run(&line, "pool/a b", Duration::from_millis(300)).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let ZfsError::Timeout {
            ref command,
            ref object,
            ref stderr,
            ..
        } = err
        else {
            panic!("{err:?}");
        };
        assert!(command.contains("sleep 600"), "{command}");
        assert_eq!(object, "pool/a b");
        assert_eq!(stderr, "started\n");
        let text = err.to_string();
        assert!(
            text.contains("pool/a b") && text.contains("sleep 600"),
            "{text}"
        );
    }

    #[test]
    fn a_child_that_closes_stdout_and_hangs_on_is_still_bounded() {
        let line = CommandLine::new(Path::new("sh"), ["-c", "exec >&- && exec sleep 600"]);
        let err = run(&line, "p", Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, ZfsError::Timeout { .. }), "{err:?}");
    }

    #[test]
    fn quoting_for_messages() {
        assert_eq!(quote("tank/a@b"), "tank/a@b");
        assert_eq!(quote("tank/with space@s1"), "'tank/with space@s1'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
        let line = CommandLine::new(Path::new("zfs"), ["send", "-i", "t/a b@1", "t/a b@2"]);
        assert_eq!(line.display(), "zfs send -i 't/a b@1' 't/a b@2'");
    }

    #[test]
    fn stderr_is_capped() {
        assert_eq!(render_capped(b"short\n", 6), "short\n");
        let long = vec![b'x'; STDERR_CAP + 10];
        let s = render_capped(&long[..STDERR_CAP], long.len());
        assert!(s.starts_with("xxx"));
        assert!(s.ends_with(&format!(
            "[stderr truncated: {} bytes, first {STDERR_CAP} kept]",
            STDERR_CAP + 10
        )));
    }

    #[test]
    fn drain_keeps_the_head_of_a_flood() {
        let mut child = Command::new("sh")
            .args(["-c", "head -c 200000 /dev/zero | tr '\\0' e >&2; echo done"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut drain = StderrDrain::spawn(child.stderr.take().unwrap()).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(out, "done\n");
        let err = drain.join();
        assert!(err.starts_with("eeee"));
        assert!(
            err.contains("[stderr truncated"),
            "{}",
            &err[err.len() - 80..]
        );
        assert!(err.len() < STDERR_CAP + 200);
    }
}
