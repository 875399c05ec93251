//! The one wrapper that runs every `zfs`/`zpool` command.
//!
//! Short commands run to completion with [`run`]; streaming ones (`send`,
//! `receive`) get their stderr drained on its own thread by [`StderrDrain`]
//! (ripgrep's `CommandReader` is the model), so a chatty child never blocks
//! on a full stderr pipe while we read its stdout or feed its stdin.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

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

/// Runs `line` to completion, capturing stdout and (capped) stderr.
pub(crate) fn run(line: &CommandLine) -> Result<Output, ZfsError> {
    let out = line
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| line.spawn_error(e))?;
    Ok(Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: cap_stderr(&out.stderr),
    })
}

/// Lossy UTF-8 of at most [`STDERR_CAP`] bytes, with a note if cut.
pub(crate) fn cap_stderr(bytes: &[u8]) -> String {
    render_capped(&bytes[..bytes.len().min(STDERR_CAP)], bytes.len())
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
}

/// A human rendering of an exit status, e.g. `exit status: 1`.
pub(crate) fn status_text(status: &ExitStatus) -> String {
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(cap_stderr(b"short\n"), "short\n");
        let long = vec![b'x'; STDERR_CAP + 10];
        let s = cap_stderr(&long);
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
